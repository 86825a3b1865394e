/**
 * The SPDM responder engine (DSP0274 1.0-1.3 with DSP0277 secured messages), modelled on
 * libspdm's responder: one synchronous `handle` per transport message, so a DOE mailbox can
 * call it directly.
 *
 * For each message: open the secured record (unknown session: dropped; bad MAC: ERROR
 * DecryptError sealed in that session, which then ends, as libspdm does), read the header,
 * find the handler, apply the version and dispatch guards, decode the body (DOE padding
 * trimmed), reset the transcripts as the request code demands, run the handler, and seal
 * the answer for the session it came in. A rejected request leaves the connection exactly
 * as it was: state, transcripts and sessions are restored from a snapshot taken first.
 */
import { isCryptoError } from '../../crypto/errors.ts';
import { decodeUnpadded, type TransportMessage } from '../../transport/types.ts';
import { isWireError } from '../../wire/errors.ts';
import { MCTP_MESSAGE_TYPE_SPDM } from '../../wire/mctp.ts';
import type { SecuredBinding } from '../../wire/secured.ts';
import { decodeSpdm, decodeSpdmHeader, encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_ERROR,
  SPDM_ERROR_CODE,
  SPDM_GET_CAPABILITIES,
  SPDM_GET_VERSION,
  SPDM_VERSION_10,
  SPDM_VERSION_12,
  spdmCodeName,
} from '../../wire/spdm/constants.ts';
import { type ResponderConfig, responderConfig } from '../config.ts';
import {
  protect,
  recordSessionId,
  SessionError,
  type UnprotectResult,
  unprotect,
} from '../session.ts';
import { resetForRequest } from '../transcript.ts';
import { type HandlerResult, ResponderContext, type ResponderSession, reject } from './context.ts';
import { DISPATCH, guard } from './dispatch.ts';
import { type ConnectionState, connectionVersion } from './state.ts';

/** Public view of one open session. */
export interface ResponderSessionInfo {
  sessionId: number;
  kind: 'dhe' | 'psk';
  phase: 'handshake' | 'established' | 'ended';
}

export class SpdmResponder {
  private readonly ctx: ResponderContext;

  /**
   * @param binding the transport binding (decides the secured-record layout)
   * @throws RangeError when the configuration cannot work (see responderConfig).
   */
  constructor(
    config: Partial<ResponderConfig> | ResponderConfig,
    binding: SecuredBinding = 'pci_doe',
  ) {
    this.ctx = new ResponderContext(responderConfig(config), binding);
  }

  /** The connection state (a copy of the tag and version, for tests and traces). */
  get state(): ConnectionState {
    return this.ctx.state;
  }

  get config(): ResponderConfig {
    return this.ctx.config;
  }

  /** The open sessions. */
  sessions(): ResponderSessionInfo[] {
    return [...this.ctx.sessions.values()].map((s) => ({
      sessionId: s.session.id,
      kind: s.session.kind,
      phase: s.session.phase,
    }));
  }

  /** A session's SecuredSession (for keylog export and tests); undefined when not open. */
  session(id: number): ResponderSession['session'] | undefined {
    return this.ctx.sessions.get(id)?.session;
  }

  /**
   * Answers one message. Never throws on peer bytes: anything malformed becomes an SPDM
   * ERROR (or, for records of unknown sessions, no answer at all).
   * @returns the response, or undefined when nothing is to be sent.
   */
  handle(m: TransportMessage): TransportMessage | undefined {
    if (!m.secured) {
      const result = this.process(m, undefined);
      return this.finish(result, undefined);
    }
    const id = recordSessionId(m.bytes);
    const rs = id === undefined ? undefined : this.ctx.sessions.get(id);
    if (!rs) {
      this.rejectRecord(id ?? 0, 'unknown-session');
      return undefined;
    }
    let opened: UnprotectResult;
    try {
      opened = unprotect(rs.session, m.bytes);
    } catch (e) {
      if (!(e instanceof SessionError)) throw e;
      this.rejectRecord(rs.session.id, e.reason);
      if (e.reason !== 'decrypt-failed') return undefined;
      // libspdm: ERROR(DecryptError) in the session, then the session is gone.
      const answer = this.finish(
        reject(SPDM_ERROR_CODE.DecryptError, 0, { teardownSessionId: rs.session.id }),
        rs,
        0,
      );
      return answer;
    }
    rs.session = opened.session;
    if (opened.rolledBack) {
      this.ctx.emit({
        type: 'key-update',
        role: 'responder',
        connectionId: this.ctx.config.connectionId,
        sessionId: rs.session.id,
        operation: 0,
        directions: [opened.rolledBack],
        action: 'rolled-back',
      });
    }
    if (opened.mctpType !== undefined && opened.mctpType !== MCTP_MESSAGE_TYPE_SPDM) {
      // An MCTP application message (e.g. PLDM): teeio's responder runs no application.
      this.rejectRecord(rs.session.id, 'malformed');
      return undefined;
    }
    const result = this.process({ secured: false, bytes: opened.message }, rs);
    return this.finish(result, rs);
  }

  private rejectRecord(sessionId: number, reason: SessionError['reason']): void {
    this.ctx.emit({
      type: 'record-rejected',
      role: 'responder',
      connectionId: this.ctx.config.connectionId,
      sessionId,
      reason,
    });
  }

  /** Guards, decoding, the handler; a rejection restores the snapshot. */
  private process(m: TransportMessage, rs: ResponderSession | undefined): Processed {
    const ctx = this.ctx;
    const snap = ctx.snapshot();
    const done = (r: HandlerResult, code: number): Processed => {
      if (r.kind === 'error') ctx.restore(snap);
      return { result: r, requestCode: code };
    };
    let code = 0;
    try {
      if (m.bytes.length < 4) return done(reject(SPDM_ERROR_CODE.InvalidRequest), 0);
      const h = decodeSpdmHeader(m.bytes);
      code = h.code;
      this.emitMessage('in', m.bytes, code, rs);
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
      const g = guard(ctx, entry, rs !== undefined);
      if (g) {
        const data = g.errorCode === SPDM_ERROR_CODE.UnsupportedRequest ? code : (g.errorData ?? 0);
        return done(reject(g.errorCode, data), code);
      }
      let decoded: ReturnType<typeof decodeUnpadded<ReturnType<typeof decodeSpdm>>>;
      try {
        const codecCtx = code === SPDM_GET_VERSION ? {} : ctx.codec();
        decoded = decodeUnpadded(m, (b) => decodeSpdm(b, codecCtx));
      } catch (e) {
        if (isWireError(e)) return done(reject(SPDM_ERROR_CODE.InvalidRequest), code);
        throw e;
      }
      if (code !== SPDM_GET_VERSION) {
        resetForRequest(ctx.transcript, code, ctx.state.state === 'AUTHENTICATED', rs?.transcript);
      }
      const result = entry.handler(ctx, {
        message: decoded.value,
        bytes: decoded.bytes,
        session: rs,
      });
      return done(this.checkSize(result), code);
    } catch (e) {
      // A handler met something it did not expect (a bad peer point, a key that cannot
      // sign): answer as libspdm would rather than let the exception escape.
      const errorCode =
        isCryptoError(e) && e.reason === 'invalid-public-key'
          ? SPDM_ERROR_CODE.InvalidRequest
          : SPDM_ERROR_CODE.Unspecified;
      if (!isCryptoError(e) && !isWireError(e) && !(e instanceof RangeError)) throw e;
      return done(reject(errorCode), code);
    }
  }

  /** ResponseTooLarge when the requester said it cannot take the response (1.2+). */
  private checkSize(r: HandlerResult): HandlerResult {
    const s = this.ctx.state;
    if (r.kind !== 'response' || !('peer' in s) || s.version < SPDM_VERSION_12) return r;
    const max = s.peer.maxSpdmMsgSize;
    if (max === 0 || r.bytes.length <= max) return r;
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, r.bytes.length, true);
    return reject(SPDM_ERROR_CODE.ResponseTooLarge, 0, { extendedData: size });
  }

  /** Encodes, seals and traces the answer; runs `after` / teardown once it is sealed. */
  private finish(
    p: Processed | HandlerResult,
    rs: ResponderSession | undefined,
    requestCode?: number,
  ): TransportMessage | undefined {
    const { result, requestCode: code } =
      'result' in p ? p : { result: p, requestCode: requestCode ?? 0 };
    const ctx = this.ctx;
    if (result.kind === 'silent') return undefined;
    let bytes: Uint8Array;
    if (result.kind === 'error') {
      bytes = encodeSpdm({
        version: ctx.version,
        code: SPDM_ERROR,
        errorCode: result.errorCode,
        errorData: result.errorData ?? 0,
        extendedData: result.extendedData,
      });
      ctx.emitError(code, result.errorCode, result.errorData ?? 0, rs?.session.id);
    } else {
      bytes = result.bytes;
    }
    this.emitMessage('out', bytes, bytes[1], rs);
    let out: TransportMessage = { secured: false, bytes };
    if (rs && rs.session.phase !== 'ended') {
      const sealed = protect(rs.session, bytes, ctx.config.random);
      rs.session = sealed.session;
      out = { secured: true, bytes: sealed.record };
    }
    if (result.kind === 'response') result.after?.();
    if (result.kind === 'error' && result.teardownSessionId !== undefined) {
      const cause = code === 0 ? 'decrypt-error' : 'finish-failed';
      ctx.endSession(result.teardownSessionId, cause);
    }
    return out;
  }

  private emitMessage(
    direction: 'in' | 'out',
    bytes: Uint8Array,
    code: number,
    rs: ResponderSession | undefined,
  ): void {
    this.ctx.emit({
      type: 'message',
      role: 'responder',
      direction,
      connectionId: this.ctx.config.connectionId,
      sessionId: rs?.session.id,
      code,
      name: spdmCodeName(code),
      bytes: bytes.slice(),
    });
  }
}

interface Processed {
  result: HandlerResult;
  requestCode: number;
}
