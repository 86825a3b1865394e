/**
 * The SPDM responder as a transition (DSP0274 1.0-1.3 with DSP0277 secured messages),
 * modelled on libspdm's responder and, for its shape, on oxidecomputer/spdm's sans-IO
 * state machines: `responderStep(state, config, message) -> { state, response?, events }`.
 * No I/O happens here: the caller delivers each transport message and carries the
 * response; SpdmResponder (responder.ts) is the thin driver that holds the state.
 *
 * For each message: open the secured record (unknown session: dropped; bad MAC: ERROR
 * DecryptError sealed in that session, which then ends, as libspdm does), read the header,
 * find the handler, apply the version and dispatch guards, decode the body (DOE padding
 * trimmed), reset the transcripts as the request code demands, run the handler, seal the
 * answer for the session it came in, and apply the handler's SessionUpdate once sealed. A
 * rejected request leaves the connection exactly as it was: state and transcripts are
 * restored from a snapshot taken first.
 */
import { isCryptoError } from '../../crypto/errors.ts';
import { isWireError } from '../../wire/errors.ts';
import { MCTP_MESSAGE_TYPE_SPDM } from '../../wire/mctp.ts';
import { decodeSpdmHeader, decodeSpdmPadded, encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_ERROR,
  SPDM_ERROR_CODE,
  SPDM_GET_CAPABILITIES,
  SPDM_GET_VERSION,
  SPDM_VERSION_10,
  SPDM_VERSION_12,
  spdmCodeName,
} from '../../wire/spdm/constants.ts';
import type { TransportMessage } from '../../wire/transport.ts';
import type { ResponderConfig } from '../config.ts';
import { errorVersion } from '../error-version.ts';
import type { SpdmEvent } from '../events.ts';
import {
  protect,
  recordSessionId,
  SessionError,
  type UnprotectResult,
  unprotect,
} from '../session.ts';
import { resetForRequest, TranscriptFullError } from '../transcript.ts';
import {
  type HandlerResult,
  ResponderContext,
  type ResponderSession,
  reject,
  type SessionUpdate,
} from './context.ts';
import { DISPATCH, guard } from './dispatch.ts';
import { expireIdleSessions, noteSessionActivity } from './heartbeat-watchdog.ts';
import { mctpApplication } from './mctp-application.ts';
import { connectionVersion, type ResponderState } from './state.ts';

/** What one step produces. */
export interface ResponderStepResult {
  /** The responder's next state (the same object as the input, updated). */
  state: ResponderState;
  /** The answer to send, or undefined when nothing is to be sent. */
  response?: TransportMessage;
  /** What happened, in order (each was also handed to `config.onEvent` as it happened). */
  events: SpdmEvent[];
}

/**
 * Answers one transport message. The state is consumed: it is updated in place and
 * returned, and secrets it no longer needs are wiped, so a caller that wants to keep the
 * state before the step (a world fork) structuredClones it first. Never throws on peer
 * bytes: anything malformed becomes an SPDM ERROR (or, for records of unknown sessions, no
 * answer at all).
 * @param config a normalised configuration (see responderConfig); it is only read
 */
export function responderStep(
  state: ResponderState,
  config: ResponderConfig,
  message: TransportMessage,
): ResponderStepResult {
  const ctx = new ResponderContext(config, state);
  const response = handle(ctx, message);
  return { state, events: ctx.events, ...(response ? { response } : {}) };
}

function handle(ctx: ResponderContext, m: TransportMessage): TransportMessage | undefined {
  expireIdleSessions(ctx);
  if (!m.secured) return finish(ctx, process(ctx, m, undefined), undefined);
  const id = recordSessionId(m.bytes);
  const rs = id === undefined ? undefined : ctx.sessions.get(id);
  if (!rs) {
    rejectRecord(ctx, id ?? 0, 'unknown-session');
    return undefined;
  }
  let opened: UnprotectResult;
  try {
    opened = unprotect(rs.session, m.bytes);
  } catch (e) {
    if (!(e instanceof SessionError)) throw e;
    rejectRecord(ctx, rs.session.id, e.reason);
    if (e.reason !== 'decrypt-failed') return undefined;
    // libspdm: ERROR(DecryptError) in the session, then the session is gone.
    const teardown = reject(SPDM_ERROR_CODE.DecryptError, 0, { teardownSessionId: rs.session.id });
    return finish(ctx, { result: teardown, requestCode: 0, requestVersion: undefined }, rs);
  }
  rs.session = opened.session;
  noteSessionActivity(ctx, rs);
  if (opened.rolledBack) {
    ctx.emit({
      type: 'key-update',
      role: 'responder',
      connectionId: ctx.config.connectionId,
      sessionId: rs.session.id,
      operation: 0,
      directions: [opened.rolledBack],
      action: 'rolled-back',
    });
  }
  if (opened.mctpType !== undefined && opened.mctpType !== MCTP_MESSAGE_TYPE_SPDM) {
    return application(ctx, rs, opened.mctpType, opened.message);
  }
  return finish(ctx, process(ctx, { secured: false, bytes: opened.message }, rs), rs);
}

/**
 * An MCTP application message (PLDM, ...) in a session: answered, sealed as the same
 * message type, by the application serving its type; otherwise traced as unsupported (the
 * record itself was fine, so not as malformed) and left unanswered.
 */
function application(
  ctx: ResponderContext,
  rs: ResponderSession,
  mctpType: number,
  body: Uint8Array,
): TransportMessage | undefined {
  const app = mctpApplication(ctx.config, mctpType);
  if (!app) {
    rejectRecord(ctx, rs.session.id, 'unsupported-application');
    return undefined;
  }
  // Application data belongs to an established session (DSP0277), not its handshake.
  const outcome =
    rs.session.phase === 'established'
      ? app(body)
      : { name: `MCTP type 0x${mctpType.toString(16)}`, dropped: 'session handshake not finished' };
  const event = {
    type: 'application',
    role: 'responder',
    connectionId: ctx.config.connectionId,
    sessionId: rs.session.id,
    mctpType,
    name: outcome.name,
  } as const;
  ctx.emit({
    ...event,
    direction: 'in',
    bytes: body.slice(),
    ...(outcome.dropped ? { dropped: outcome.dropped } : {}),
  });
  if (!outcome.response) return undefined;
  ctx.emit({ ...event, direction: 'out', bytes: outcome.response.slice() });
  const sealed = protect(rs.session, outcome.response, ctx.config.random, { mctpType });
  rs.session = sealed.session;
  return { secured: true, bytes: sealed.record };
}

function rejectRecord(ctx: ResponderContext, sessionId: number, reason: SessionError['reason']) {
  ctx.emit({
    type: 'record-rejected',
    role: 'responder',
    connectionId: ctx.config.connectionId,
    sessionId,
    reason,
  });
}

interface Processed {
  result: HandlerResult;
  requestCode: number;
  /** The request's SPDMVersion, once its header was read. */
  requestVersion: number | undefined;
}

/** Guards, decoding, the handler; a rejection restores the snapshot. */
function process(
  ctx: ResponderContext,
  m: TransportMessage,
  rs: ResponderSession | undefined,
): Processed {
  const snap = ctx.snapshot();
  let requestVersion: number | undefined;
  const done = (r: HandlerResult, code: number): Processed => {
    if (r.kind === 'error') ctx.restore(snap);
    return { result: r, requestCode: code, requestVersion };
  };
  let code = 0;
  try {
    if (m.bytes.length < 4) return done(reject(SPDM_ERROR_CODE.InvalidRequest), 0);
    const h = decodeSpdmHeader(m.bytes);
    code = h.code;
    requestVersion = h.version;
    emitMessage(ctx, 'in', m.bytes, code, rs);
    const entry = DISPATCH[code];
    if (!entry) return done(reject(SPDM_ERROR_CODE.UnsupportedRequest, code), code);
    // GET_VERSION is always 1.0; GET_CAPABILITIES picks one of ours; the rest use the
    // connection's version once GET_CAPABILITIES fixed it.
    const version = connectionVersion(ctx.state);
    const versionOk =
      code === SPDM_GET_VERSION
        ? h.version === SPDM_VERSION_10
        : code === SPDM_GET_CAPABILITIES && version === undefined
          ? ctx.config.versions.includes(h.version)
          : version === undefined || h.version === version;
    if (!versionOk) return done(reject(SPDM_ERROR_CODE.VersionMismatch), code);
    const g = guard(ctx, entry, code, rs);
    if (g) {
      const data = g.errorCode === SPDM_ERROR_CODE.UnsupportedRequest ? code : (g.errorData ?? 0);
      return done(reject(g.errorCode, data), code);
    }
    let decoded: ReturnType<typeof decodeSpdmPadded>;
    try {
      const codecCtx = code === SPDM_GET_VERSION ? {} : ctx.codec();
      decoded = decodeSpdmPadded(m.bytes, codecCtx, m.maxPad ?? 0);
    } catch (e) {
      if (isWireError(e)) return done(reject(SPDM_ERROR_CODE.InvalidRequest), code);
      throw e;
    }
    if (code !== SPDM_GET_VERSION) {
      resetForRequest(ctx.transcript, code, ctx.state.state === 'AUTHENTICATED', rs?.transcript);
    }
    const result = entry.handler(ctx, {
      message: decoded.message,
      bytes: decoded.bytes,
      session: rs,
    });
    return done(checkSize(ctx, result), code);
  } catch (e) {
    // B or M is full (a requester repeating GET_CERTIFICATE or unsigned GET_MEASUREMENTS
    // without a reset): libspdm answers ERROR(Unspecified) when its append fails.
    if (e instanceof TranscriptFullError) return done(reject(SPDM_ERROR_CODE.Unspecified), code);
    // A handler met bad peer bytes deep inside (a bad peer point, a key that cannot sign):
    // answer as libspdm would. Anything else is a bug here and propagates.
    const errorCode =
      isCryptoError(e) && e.reason === 'invalid-public-key'
        ? SPDM_ERROR_CODE.InvalidRequest
        : SPDM_ERROR_CODE.Unspecified;
    if (!isCryptoError(e) && !isWireError(e)) throw e;
    return done(reject(errorCode), code);
  }
}

/** ResponseTooLarge when the requester said it cannot take the response (1.2+). */
function checkSize(ctx: ResponderContext, r: HandlerResult): HandlerResult {
  const s = ctx.state;
  if (r.kind !== 'response' || !('peer' in s) || s.version < SPDM_VERSION_12) return r;
  const max = s.peer.maxSpdmMsgSize;
  if (max === 0 || r.bytes.length <= max) return r;
  const size = new Uint8Array(4);
  new DataView(size.buffer).setUint32(0, r.bytes.length, true);
  return reject(SPDM_ERROR_CODE.ResponseTooLarge, 0, { extendedData: size });
}

/** Encodes, seals and traces the answer; applies `after` / teardown once it is sealed. */
function finish(
  ctx: ResponderContext,
  { result, requestCode: code, requestVersion }: Processed,
  rs: ResponderSession | undefined,
): TransportMessage | undefined {
  if (result.kind === 'silent') return undefined;
  let bytes: Uint8Array;
  if (result.kind === 'error') {
    bytes = encodeSpdm({
      version: errorVersionOf(ctx, code, requestVersion),
      code: SPDM_ERROR,
      errorCode: result.errorCode,
      errorData: result.errorData ?? 0,
      extendedData: result.extendedData,
    });
    ctx.emitError(code, result.errorCode, result.errorData ?? 0, rs?.session.id);
  } else {
    bytes = result.bytes;
  }
  emitMessage(ctx, 'out', bytes, bytes[1], rs);
  let out: TransportMessage = { secured: false, bytes };
  if (rs && rs.session.phase !== 'ended') {
    const sealed = protect(rs.session, bytes, ctx.config.random);
    rs.session = sealed.session;
    out = { secured: true, bytes: sealed.record };
  }
  if (result.kind === 'response' && result.after) apply(ctx, result.after);
  if (result.kind === 'error' && result.teardownSessionId !== undefined) {
    const cause = code === 0 ? 'decrypt-error' : 'finish-failed';
    ctx.endSession(result.teardownSessionId, cause);
  }
  return out;
}

/** The SPDMVersion of an ERROR answering `code` (error-version.ts decides). */
function errorVersionOf(
  ctx: ResponderContext,
  code: number,
  requestVersion: number | undefined,
): number {
  const s = ctx.state;
  return errorVersion({
    requestCode: code,
    requestVersion: requestVersion ?? SPDM_VERSION_10,
    connectionVersion: connectionVersion(s),
    capabilitiesVersionAccepted:
      s.state === 'AFTER_VERSION' &&
      requestVersion !== undefined &&
      ctx.config.versions.includes(requestVersion),
  });
}

/** Applies a handler's deferred SessionUpdate. */
function apply(ctx: ResponderContext, u: SessionUpdate): void {
  switch (u.kind) {
    case 'establish':
      ctx.establish(u.sessionId, u.by);
      return;
    case 'end-session':
      ctx.endSession(u.sessionId, 'end-session');
      return;
  }
}

function emitMessage(
  ctx: ResponderContext,
  direction: 'in' | 'out',
  bytes: Uint8Array,
  code: number,
  rs: ResponderSession | undefined,
): void {
  ctx.emit({
    type: 'message',
    role: 'responder',
    direction,
    connectionId: ctx.config.connectionId,
    sessionId: rs?.session.id,
    code,
    name: spdmCodeName(code),
    bytes: bytes.slice(),
  });
}
