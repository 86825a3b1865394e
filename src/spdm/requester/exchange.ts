/**
 * One request, one response (DSP0274 1.0-1.3 "Generic SPDM message format"; DSP0277 for
 * requests inside a session): sends a request plain or as a secured record, opens the
 * reply, answers ResponseNotReady with RESPOND_IF_READY and Busy with a retry (as libspdm's
 * libspdm_handle_error_response_main does), turns an ERROR into SpdmErrorResponse, and
 * decodes the expected response by its own fields, keeping the exact bytes the transcripts
 * must hash (DOE padding left off). Every message crosses as a trace event.
 */
import { realClock } from '../../wire/clock.ts';
import { isWireError } from '../../wire/errors.ts';
import { MCTP_MESSAGE_TYPE_SPDM } from '../../wire/mctp.ts';
import { decodeSpdmPadded, encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_ERROR,
  SPDM_ERROR_CODE,
  SPDM_RESPOND_IF_READY,
  spdmCodeName,
  spdmErrorName,
} from '../../wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../../wire/spdm/context.ts';
import type { ErrorResponse } from '../../wire/spdm/error.ts';
import type { TransportMessage } from '../../wire/transport.ts';
import { errorVersion } from '../error-version.ts';
import { requestLegality, requestPlace } from '../request-legality.ts';
import { protect, SessionError, unprotect } from '../session.ts';
import { resetForRequest } from '../transcript.ts';
import type { RequesterCore, RequesterSession } from './context.ts';
import { SpdmErrorResponse, SpdmUsageError, SpdmVerifyError } from './errors.ts';

/** The response a request expects. */
export interface Expect {
  /** The response code; undefined accepts any code but ERROR (raw exchanges in tests). */
  code: number | undefined;
  /** The header version the response must carry (the negotiated one); undefined: any. */
  version?: number;
  /**
   * What the response decodes with (sizes, request); the decoded message must be a T.
   * Undefined: not decoded, the bytes come back as received (raw exchanges in tests).
   */
  codec: SpdmCodecContext | undefined;
}

/** Where a request goes: plain, or inside a session (in the clear during a clear handshake). */
export interface Route {
  session?: RequesterSession;
  /** Send and receive plain although a session is given (HANDSHAKE_IN_THE_CLEAR FINISH). */
  clear?: boolean;
  /** Skip the request-legality check (raw conformance exchanges). */
  unchecked?: boolean;
}

export interface Received<T> {
  value: T;
  /** The response's exact bytes (what transcripts hash). */
  bytes: Uint8Array;
}

const DEFAULT_RETRIES = 3;
const DEFAULT_MAX_NOT_READY_WAIT_MS = 1000;

/** A received message before it is decoded: plain (maybe DOE-padded) or opened from a record. */
interface Reply extends TransportMessage {
  /** A plain message that answered a secured request. */
  plainInSession: boolean;
}

function emitMessage(
  core: RequesterCore,
  direction: 'in' | 'out',
  bytes: Uint8Array,
  session: RequesterSession | undefined,
): void {
  if (!core.config.onEvent) return;
  const code = bytes.length > 1 ? bytes[1] : -1;
  core.emit({
    type: 'message',
    role: 'requester',
    direction,
    connectionId: core.config.connectionId,
    sessionId: session?.id,
    code,
    name: code < 0 ? 'TRUNCATED' : spdmCodeName(code),
    bytes,
  });
}

/** Sends one SPDM message and returns what came back, opened from its record if secured. */
async function transmit(core: RequesterCore, request: Uint8Array, route: Route): Promise<Reply> {
  const s = route.session;
  emitMessage(core, 'out', request, s);
  const reply = await carry(core, request, route);
  // MaxSPDMmsgSize is the most we said we can take (plus DOE dword padding).
  const limit = core.config.maxSpdmMsgSize + 3;
  if (reply.bytes.length > limit) {
    core.verified('response-size', false, s?.id);
    if (s && !route.clear) core.dropSession(s, 'reset');
    throw new SpdmVerifyError(
      'response-size',
      `a ${reply.bytes.length}-byte response exceeds MaxSPDMmsgSize ${core.config.maxSpdmMsgSize}`,
    );
  }
  return reply;
}

/** The transport part of `transmit`: seal, exchange, open. */
async function carry(core: RequesterCore, request: Uint8Array, route: Route): Promise<Reply> {
  const timeout = core.options.timeoutMs;
  const s = route.session;
  if (!s || route.clear) {
    const reply = await core.transport.exchange({ secured: false, bytes: request }, timeout);
    if (reply.secured) {
      throw new SpdmVerifyError('response', 'a secured record answered a plain request');
    }
    return { ...reply, plainInSession: false };
  }
  let record: Uint8Array;
  try {
    const sealed = protect(s.secured, request, core.config.random);
    s.secured = sealed.session;
    record = sealed.record;
  } catch (e) {
    if (e instanceof RangeError)
      throw new SpdmUsageError(`session 0x${s.id.toString(16)}: ${e.message}`);
    throw e;
  }
  let reply: TransportMessage;
  try {
    reply = await core.transport.exchange({ secured: true, bytes: record }, timeout);
  } catch (e) {
    // The bytes did not move both ways: whether the responder saw the record is unknown,
    // so the counters cannot be trusted.
    core.dropSession(s, 'reset');
    throw e;
  }
  if (!reply.secured) return { ...reply, plainInSession: true };
  try {
    const opened = unprotect(s.secured, reply.bytes);
    s.secured = opened.session;
    if (opened.rolledBack) {
      core.emit({
        type: 'key-update',
        role: 'requester',
        connectionId: core.config.connectionId,
        sessionId: s.id,
        operation: 0,
        directions: [opened.rolledBack],
        action: 'rolled-back',
      });
    }
    if (opened.mctpType !== undefined && opened.mctpType !== MCTP_MESSAGE_TYPE_SPDM) {
      // An MCTP application message where an SPDM response belongs.
      throw new SessionError(
        'malformed',
        s.id,
        `MCTP message type 0x${opened.mctpType.toString(16)}`,
      );
    }
    return { secured: true, bytes: opened.message, plainInSession: false };
  } catch (e) {
    if (!(e instanceof SessionError)) throw e;
    core.emit({
      type: 'record-rejected',
      role: 'requester',
      connectionId: core.config.connectionId,
      sessionId: e.sessionId,
      reason: e.reason,
    });
    core.verified('secured-record', false, s.id);
    // A record that does not open leaves the counters out of step: the session is over.
    core.dropSession(s, 'decrypt-error');
    throw new SpdmVerifyError('secured-record', e.message, { cause: e });
  }
}

function decodeError(reply: Reply): { value: ErrorResponse; bytes: Uint8Array } {
  try {
    const d = decodeSpdmPadded(reply.bytes, {}, reply.maxPad ?? 0);
    return { value: d.message as ErrorResponse, bytes: d.bytes };
  } catch (e) {
    if (isWireError(e)) throw new SpdmVerifyError('response', e.message, { cause: e });
    throw e;
  }
}

/**
 * Refuses to send a request where request-legality.ts forbids it (e.g. GET_MEASUREMENTS in
 * a session that has not finished its handshake): the responder could only refuse it.
 * @throws SpdmUsageError.
 */
function checkLegality(core: RequesterCore, code: number, route: Route): void {
  const s = route.session;
  const c = core.conn;
  const negotiated = c.state === 'NEGOTIATED' || c.state === 'AUTHENTICATED';
  const inTheClear = negotiated && c.negotiated.handshakeInTheClear && (!s || s.kind === 'dhe');
  const legality = requestLegality(code, route.clear ? 'clear' : requestPlace(s), inTheClear);
  if (legality === 'legal') return;
  const where =
    !s || route.clear
      ? 'in the clear'
      : s.phase === 'handshake'
        ? `in session 0x${s.id.toString(16)} before its handshake finished`
        : `in session 0x${s.id.toString(16)}`;
  throw new SpdmUsageError(
    `${spdmCodeName(code)} cannot be sent ${where} (DSP0274: the responder answers ${legality})`,
  );
}

/**
 * An ERROR must carry the version DSP0274 gives it (error-version.ts), as any response
 * must: a wrong one is refused before its code is believed, as libspdm does.
 * @throws SpdmVerifyError 'version'.
 */
function checkErrorVersion(core: RequesterCore, request: Uint8Array, err: ErrorResponse): void {
  const want = errorVersion({
    requestCode: request[1],
    requestVersion: request[0],
    connectionVersion: core.connectionVersion,
    capabilitiesVersionAccepted: err.errorCode !== SPDM_ERROR_CODE.VersionMismatch,
  });
  if (err.version === want) return;
  throw new SpdmVerifyError(
    'version',
    `ERROR ${spdmErrorName(err.errorCode)} answering ${spdmCodeName(request[1])} carries SPDMVersion 0x${err.version.toString(16)}, expected 0x${want.toString(16)}`,
  );
}

/**
 * A request of the session phase (HEARTBEAT, KEY_UPDATE, END_SESSION, VENDOR_DEFINED) in
 * `s` or outside any session: the transcript rules for its code, then `exchange`, the
 * response decoded with the connection's version alone.
 * @throws as `exchange` does.
 */
export function sessionExchange<T>(
  core: RequesterCore,
  s: RequesterSession | undefined,
  request: Uint8Array,
  responseCode: number,
): Promise<Received<T>> {
  const version = core.negotiated().version;
  resetForRequest(core.transcript, request[1], core.authenticated, s?.transcript);
  return exchange(
    core,
    request,
    { code: responseCode, version, codec: { version } },
    { session: s },
  );
}

/**
 * Sends `request` and returns the decoded expected response.
 * @throws SpdmErrorResponse when the peer answers ERROR (after Busy retries and
 *   ResponseNotReady follow-ups); SpdmVerifyError 'response' for another response code or
 *   malformed bytes, 'version' for a wrong header version, 'secured-record' for a record
 *   that does not open (the session is then dropped); TransportError from the transport.
 */
export async function exchange<T>(
  core: RequesterCore,
  request: Uint8Array,
  expect: Expect,
  route: Route = {},
): Promise<Received<T>> {
  const requestCode = request[1];
  if (!route.unchecked) checkLegality(core, requestCode, route);
  let busyLeft = core.options.retries ?? DEFAULT_RETRIES;
  let notReadyLeft = core.options.retries ?? DEFAULT_RETRIES;
  let next = request;
  for (;;) {
    const reply = await transmit(core, next, route);
    if (reply.bytes.length < 4) {
      emitMessage(core, 'in', reply.bytes, route.session);
      throw new SpdmVerifyError(
        'response',
        `${reply.bytes.length}-byte response to ${spdmCodeName(requestCode)}`,
      );
    }
    const code = reply.bytes[1];
    if (code === SPDM_ERROR) {
      const { value: err, bytes } = decodeError(reply);
      emitMessage(core, 'in', bytes, route.session);
      if (expect.version !== undefined) checkErrorVersion(core, next, err);
      const rnr = err.responseNotReady;
      if (rnr && notReadyLeft-- > 0) {
        if (rnr.requestCode !== requestCode) {
          throw new SpdmVerifyError(
            'response',
            `ResponseNotReady names ${spdmCodeName(rnr.requestCode)}, not ${spdmCodeName(requestCode)}`,
          );
        }
        const maxWait = core.options.maxNotReadyWaitMs ?? DEFAULT_MAX_NOT_READY_WAIT_MS;
        await (core.options.clock ?? realClock).sleep(
          Math.min(2 ** rnr.rdtExponent / 1000, maxWait),
        );
        next = encodeSpdm({
          version: request[0],
          code: SPDM_RESPOND_IF_READY,
          requestCode: rnr.requestCode,
          token: rnr.token,
        });
        continue;
      }
      if (err.errorCode === SPDM_ERROR_CODE.Busy && busyLeft-- > 0) {
        next = request;
        continue;
      }
      // libspdm: a DecryptError means the responder has dropped the session.
      if (route.session && !route.clear && err.errorCode === SPDM_ERROR_CODE.DecryptError) {
        core.dropSession(route.session, 'decrypt-error');
      }
      throw new SpdmErrorResponse(requestCode, err.errorCode, err.errorData, err.extendedData);
    }
    if (reply.plainInSession) {
      emitMessage(core, 'in', reply.bytes, route.session);
      if (route.session) core.dropSession(route.session, 'decrypt-error');
      throw new SpdmVerifyError('secured-record', 'a plain message answered a secured request');
    }
    if (expect.code !== undefined && code !== expect.code) {
      emitMessage(core, 'in', reply.bytes, route.session);
      throw new SpdmVerifyError(
        'response',
        `${spdmCodeName(code)} answered ${spdmCodeName(requestCode)}, expected ${spdmCodeName(expect.code ?? code)}`,
      );
    }
    if (expect.version !== undefined && reply.bytes[0] !== expect.version) {
      emitMessage(core, 'in', reply.bytes, route.session);
      throw new SpdmVerifyError(
        'version',
        `${spdmCodeName(code)} carries SPDMVersion 0x${reply.bytes[0].toString(16)}, negotiated 0x${expect.version.toString(16)}`,
      );
    }
    if (expect.codec === undefined) {
      emitMessage(core, 'in', reply.bytes, route.session);
      return { value: reply.bytes as T, bytes: reply.bytes };
    }
    let decoded: { value: T; bytes: Uint8Array };
    try {
      const d = decodeSpdmPadded(reply.bytes, expect.codec, reply.maxPad ?? 0);
      decoded = { value: d.message as T, bytes: d.bytes };
    } catch (e) {
      emitMessage(core, 'in', reply.bytes, route.session);
      if (isWireError(e)) throw new SpdmVerifyError('response', e.message, { cause: e });
      throw e;
    }
    emitMessage(core, 'in', decoded.bytes, route.session);
    return decoded;
  }
}
