/**
 * One request, one response (DSP0274 1.0-1.3 "Generic SPDM message format"; DSP0277 for
 * requests inside a session), without I/O: `send` checks that the request may be sent
 * where it goes, traces it and seals it as a secured record when it travels in a session;
 * `receive` opens the reply, answers ResponseNotReady with RESPOND_IF_READY after the RDT
 * wait and Busy with a resend (as libspdm's libspdm_handle_error_response_main does),
 * turns an ERROR into SpdmErrorResponse, and decodes the expected response by its own
 * fields, keeping the exact bytes the transcripts must hash (DOE padding left off). What
 * an exchange needs between the two (the request, what must come back, retries left) is
 * ExchangeProgress, plain data in the requester's in-flight call.
 */
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
import type { RequesterContext } from './context.ts';
import { SpdmErrorResponse, SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { isNegotiated, type SessionRecord } from './state.ts';

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
  sessionId?: number;
  /** Send and receive plain although a session is given (HANDSHAKE_IN_THE_CLEAR FINISH). */
  clear?: boolean;
  /** Skip the request-legality check (raw conformance exchanges). */
  unchecked?: boolean;
}

/** A request a flow wants sent. */
export interface Outgoing {
  request: Uint8Array;
  expect: Expect;
  route?: Route;
}

/** An exchange between its request and its response (plain data). */
export interface ExchangeProgress {
  /** The request (Busy resends it; ResponseNotReady must name its code). */
  request: Uint8Array;
  /** The message last sent: `request`, or the RESPOND_IF_READY that followed it. */
  sent: Uint8Array;
  /** `sent` as it went on the wire (sealed in a session): what a copy of the state resends. */
  onWire: TransportMessage;
  expect: Expect;
  route: Route;
  busyLeft: number;
  notReadyLeft: number;
}

export interface Received<T> {
  value: T;
  /** The response's exact bytes (what transcripts hash). */
  bytes: Uint8Array;
}

/** What a reply came to: the expected response, or another message to send first. */
export type ReplyOutcome<T> =
  | { received: Received<T> }
  | {
      resend: TransportMessage;
      /** Wait this long (ms, on the driver's clock) before sending it. */
      wait?: number;
    };

const DEFAULT_RETRIES = 3;
const DEFAULT_MAX_NOT_READY_WAIT_MS = 1000;

function emitMessage(
  ctx: RequesterContext,
  direction: 'in' | 'out',
  bytes: Uint8Array,
  sessionId: number | undefined,
): void {
  const code = bytes.length > 1 ? bytes[1] : -1;
  ctx.emit({
    type: 'message',
    role: 'requester',
    direction,
    connectionId: ctx.config.connectionId,
    sessionId,
    code,
    name: code < 0 ? 'TRUNCATED' : spdmCodeName(code),
    bytes,
  });
}

/** The session a route runs in (sealed), if any. */
function sealedSession(ctx: RequesterContext, route: Route): SessionRecord | undefined {
  return route.sessionId === undefined || route.clear ? undefined : ctx.session(route.sessionId);
}

/**
 * Refuses to send a request where request-legality.ts forbids it (e.g. GET_MEASUREMENTS in
 * a session that has not finished its handshake): the responder could only refuse it.
 * @throws SpdmUsageError.
 */
function checkLegality(ctx: RequesterContext, code: number, route: Route): void {
  const s = route.sessionId === undefined ? undefined : ctx.session(route.sessionId).secured;
  const c = ctx.conn;
  const inTheClear =
    isNegotiated(c) && c.negotiated.handshakeInTheClear && (!s || s.kind === 'dhe');
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

/** Traces one message and seals it for its route. @throws SpdmUsageError when it cannot be. */
function carry(ctx: RequesterContext, bytes: Uint8Array, route: Route): TransportMessage {
  emitMessage(ctx, 'out', bytes, route.sessionId);
  const s = sealedSession(ctx, route);
  if (!s) return { secured: false, bytes };
  try {
    const sealed = protect(s.secured, bytes, ctx.random);
    s.secured = sealed.session;
    return { secured: true, bytes: sealed.record };
  } catch (e) {
    if (e instanceof RangeError)
      throw new SpdmUsageError(`session 0x${s.secured.id.toString(16)}: ${e.message}`);
    throw e;
  }
}

/**
 * Starts an exchange: the legality check, the trace, the record.
 * @throws SpdmUsageError when the request may not go where it is routed.
 */
export function send(
  ctx: RequesterContext,
  o: Outgoing,
): { exchange: ExchangeProgress; out: TransportMessage } {
  const route = o.route ?? {};
  if (!route.unchecked) checkLegality(ctx, o.request[1], route);
  const retries = ctx.options.retries ?? DEFAULT_RETRIES;
  const out = carry(ctx, o.request, route);
  return {
    exchange: {
      request: o.request,
      sent: o.request,
      onWire: out,
      expect: o.expect,
      route,
      busyLeft: retries,
      notReadyLeft: retries,
    },
    out,
  };
}

/**
 * A request of the session phase (HEARTBEAT, KEY_UPDATE, END_SESSION, VENDOR_DEFINED) in
 * session `sessionId` or outside any session: the transcript rules for its code, the
 * response decoded with the connection's version alone.
 */
export function sessionRequest(
  ctx: RequesterContext,
  sessionId: number | undefined,
  request: Uint8Array,
  responseCode: number,
): Outgoing {
  const version = ctx.negotiated().version;
  const st = sessionId === undefined ? undefined : ctx.session(sessionId).transcript;
  resetForRequest(ctx.transcript, request[1], ctx.authenticated, st);
  return {
    request,
    expect: { code: responseCode, version, codec: { version } },
    route: { sessionId },
  };
}

/** A received message before it is decoded: plain (maybe DOE-padded) or opened from a record. */
interface Reply extends TransportMessage {
  /** A plain message that answered a secured request. */
  plainInSession: boolean;
}

/** Checks the size, opens the record. @throws SpdmVerifyError 'response-size', 'response', 'secured-record'. */
function open(ctx: RequesterContext, ex: ExchangeProgress, m: TransportMessage): Reply {
  const route = ex.route;
  // MaxSPDMmsgSize is the most we said we can take (plus DOE dword padding).
  const limit = ctx.config.maxSpdmMsgSize + 3;
  if (m.bytes.length > limit) {
    ctx.verified('response-size', false, route.sessionId);
    throw new SpdmVerifyError(
      'response-size',
      `a ${m.bytes.length}-byte response exceeds MaxSPDMmsgSize ${ctx.config.maxSpdmMsgSize}`,
    );
  }
  const s = sealedSession(ctx, route);
  if (!s) {
    if (m.secured)
      throw new SpdmVerifyError('response', 'a secured record answered a plain request');
    return { ...m, plainInSession: false };
  }
  if (!m.secured) return { ...m, plainInSession: true };
  try {
    const opened = unprotect(s.secured, m.bytes);
    s.secured = opened.session;
    if (opened.rolledBack) {
      ctx.emit({
        type: 'key-update',
        role: 'requester',
        connectionId: ctx.config.connectionId,
        sessionId: s.secured.id,
        operation: 0,
        directions: [opened.rolledBack],
        action: 'rolled-back',
      });
    }
    if (opened.mctpType !== undefined && opened.mctpType !== MCTP_MESSAGE_TYPE_SPDM) {
      // An MCTP application message where an SPDM response belongs.
      throw new SessionError(
        'malformed',
        s.secured.id,
        `MCTP message type 0x${opened.mctpType.toString(16)}`,
      );
    }
    return { secured: true, bytes: opened.message, plainInSession: false };
  } catch (e) {
    if (!(e instanceof SessionError)) throw e;
    ctx.emit({
      type: 'record-rejected',
      role: 'requester',
      connectionId: ctx.config.connectionId,
      sessionId: e.sessionId,
      reason: e.reason,
    });
    ctx.verified('secured-record', false, s.secured.id);
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
 * An ERROR must carry the version DSP0274 gives it (error-version.ts), as any response
 * must: a wrong one is refused before its code is believed, as libspdm does.
 * @throws SpdmVerifyError 'version'.
 */
function checkErrorVersion(ctx: RequesterContext, request: Uint8Array, err: ErrorResponse): void {
  const want = errorVersion({
    requestCode: request[1],
    requestVersion: request[0],
    connectionVersion: ctx.connectionVersion,
    capabilitiesVersionAccepted: err.errorCode !== SPDM_ERROR_CODE.VersionMismatch,
  });
  if (err.version === want) return;
  throw new SpdmVerifyError(
    'version',
    `ERROR ${spdmErrorName(err.errorCode)} answering ${spdmCodeName(request[1])} carries SPDMVersion 0x${err.version.toString(16)}, expected 0x${want.toString(16)}`,
  );
}

/**
 * Takes the reply to the exchange in flight (`ex`, updated in place: retries and what was
 * sent) and returns the decoded expected response, or the message to send instead.
 * @throws SpdmErrorResponse when the peer answers ERROR (after Busy retries and
 *   ResponseNotReady follow-ups); SpdmVerifyError 'response' for another response code or
 *   malformed bytes, 'version' for a wrong header version, 'secured-record' for a record
 *   that does not open, 'response-size' beyond MaxSPDMmsgSize.
 */
export function receive<T>(
  ctx: RequesterContext,
  ex: ExchangeProgress,
  m: TransportMessage,
): ReplyOutcome<T> {
  const { expect, route } = ex;
  const sid = route.sessionId;
  const requestCode = ex.request[1];
  const reply = open(ctx, ex, m);
  if (reply.bytes.length < 4) {
    emitMessage(ctx, 'in', reply.bytes, sid);
    throw new SpdmVerifyError(
      'response',
      `${reply.bytes.length}-byte response to ${spdmCodeName(requestCode)}`,
    );
  }
  const code = reply.bytes[1];
  if (code === SPDM_ERROR) {
    const { value: err, bytes } = decodeError(reply);
    emitMessage(ctx, 'in', bytes, sid);
    if (expect.version !== undefined) checkErrorVersion(ctx, ex.sent, err);
    const rnr = err.responseNotReady;
    if (rnr && ex.notReadyLeft-- > 0) {
      if (rnr.requestCode !== requestCode) {
        throw new SpdmVerifyError(
          'response',
          `ResponseNotReady names ${spdmCodeName(rnr.requestCode)}, not ${spdmCodeName(requestCode)}`,
        );
      }
      const maxWait = ctx.options.maxNotReadyWaitMs ?? DEFAULT_MAX_NOT_READY_WAIT_MS;
      ex.sent = encodeSpdm({
        version: ex.request[0],
        code: SPDM_RESPOND_IF_READY,
        requestCode: rnr.requestCode,
        token: rnr.token,
      });
      ex.onWire = carry(ctx, ex.sent, route);
      return { resend: ex.onWire, wait: Math.min(2 ** rnr.rdtExponent / 1000, maxWait) };
    }
    if (err.errorCode === SPDM_ERROR_CODE.Busy && ex.busyLeft-- > 0) {
      ex.sent = ex.request;
      ex.onWire = carry(ctx, ex.sent, route);
      return { resend: ex.onWire };
    }
    throw new SpdmErrorResponse(requestCode, err.errorCode, err.errorData, err.extendedData);
  }
  if (reply.plainInSession) {
    emitMessage(ctx, 'in', reply.bytes, sid);
    throw new SpdmVerifyError('secured-record', 'a plain message answered a secured request');
  }
  if (expect.code !== undefined && code !== expect.code) {
    emitMessage(ctx, 'in', reply.bytes, sid);
    throw new SpdmVerifyError(
      'response',
      `${spdmCodeName(code)} answered ${spdmCodeName(requestCode)}, expected ${spdmCodeName(expect.code)}`,
    );
  }
  if (expect.version !== undefined && reply.bytes[0] !== expect.version) {
    emitMessage(ctx, 'in', reply.bytes, sid);
    throw new SpdmVerifyError(
      'version',
      `${spdmCodeName(code)} carries SPDMVersion 0x${reply.bytes[0].toString(16)}, negotiated 0x${expect.version.toString(16)}`,
    );
  }
  if (expect.codec === undefined) {
    emitMessage(ctx, 'in', reply.bytes, sid);
    return { received: { value: reply.bytes as T, bytes: reply.bytes } };
  }
  let decoded: Received<T>;
  try {
    const d = decodeSpdmPadded(reply.bytes, expect.codec, reply.maxPad ?? 0);
    decoded = { value: d.message as T, bytes: d.bytes };
  } catch (e) {
    emitMessage(ctx, 'in', reply.bytes, sid);
    if (isWireError(e)) throw new SpdmVerifyError('response', e.message, { cause: e });
    throw e;
  }
  emitMessage(ctx, 'in', decoded.bytes, sid);
  return { received: decoded };
}

/**
 * Why a failed exchange ends the session it ran in, if it does: a record that did not
 * open or a DecryptError (libspdm: the responder has dropped the session), a plain answer
 * to a secured request, a reply too large to be read, or bytes that did not move both
 * ways (whether the responder saw the record is unknown, so the counters cannot be
 * trusted).
 */
export function sessionDropCause(error: unknown): 'decrypt-error' | 'reset' | undefined {
  if (error instanceof SpdmVerifyError) {
    if (error.what === 'secured-record') return 'decrypt-error';
    if (error.what === 'response-size') return 'reset';
    return undefined;
  }
  if (error instanceof SpdmErrorResponse)
    return error.errorCode === SPDM_ERROR_CODE.DecryptError ? 'decrypt-error' : undefined;
  if (error instanceof SpdmUsageError) return undefined;
  return 'reset';
}

/**
 * Keeps a session's counters in step with a reply whose record opened although the call
 * then failed on what it carried; a record that does not open ends the session.
 */
export function reopen(ctx: RequesterContext, sessionId: number, m: TransportMessage): void {
  const s = ctx.data.sessions.get(sessionId);
  if (!s || !m.secured || s.secured.phase === 'ended') return;
  try {
    s.secured = unprotect(s.secured, m.bytes).session;
  } catch (e) {
    if (!(e instanceof SessionError)) throw e;
    ctx.dropSession(sessionId, 'decrypt-error');
  }
}
