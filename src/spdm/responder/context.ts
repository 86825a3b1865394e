/**
 * What every responder handler works on during one step: the configuration and the
 * responder's state (connection state, transcripts, open sessions: plain data, see
 * state.ts), plus the shared answers (ERROR responses, events). Handlers follow libspdm's
 * libspdm_get_response_* phases; this is their common ground.
 *
 * A handler returns a HandlerResult instead of touching the wire: the step seals it for the
 * session the request came in, then applies `after`, a SessionUpdate described as data (the
 * FINISH_RSP key switch, END_SESSION teardown), once the response is sealed.
 */
import { type SpdmSigningContext, spdmSign } from '../../crypto/signing.ts';
import { SPDM_VERSION_10, SPDM_VERSION_12, spdmErrorName } from '../../wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../../wire/spdm/context.ts';
import type { SpdmMessage } from '../../wire/spdm/messages.ts';
import type { ResponderConfig } from '../config.ts';
import type { SpdmEvent } from '../events.ts';
import { closeSession, establishSession, type SessionKind } from '../session.ts';
import {
  type ConnectionTranscript,
  markSessionTranscript,
  markTranscript,
  rollBackSessionTranscript,
  rollBackTranscript,
  type SessionTranscriptMark,
  type TranscriptMark,
} from '../transcript.ts';
import {
  type ConnectionState,
  connectionVersion,
  isNegotiated,
  type Negotiated,
  type ResponderSession,
  type ResponderState,
} from './state.ts';

export type { ResponderSession } from './state.ts';

type SessionEvent = Extract<SpdmEvent, { type: 'session' }>;
type EstablishedBy = NonNullable<SessionEvent['establishedBy']>;

/** A state update that waits until the response is sealed with the keys it was built under. */
export type SessionUpdate =
  /** The key switch after FINISH_RSP / PSK_FINISH_RSP (or a PSK_EXCHANGE_RSP without context). */
  | { kind: 'establish'; sessionId: number; by: EstablishedBy }
  /** END_SESSION: the ACK goes out under the session's keys, then the session ends. */
  | { kind: 'end-session'; sessionId: number };

/** The request as the handler receives it. */
export interface HandlerRequest<M extends SpdmMessage = SpdmMessage> {
  /** The decoded request. */
  message: M;
  /** The request exactly as it goes into transcripts (DOE padding removed). */
  bytes: Uint8Array;
  /** The session it arrived in, if it came as a secured record. */
  session?: ResponderSession;
}

export type HandlerResult =
  | {
      kind: 'response';
      /** The encoded response. */
      bytes: Uint8Array;
      /** Applied after the response is sealed (with the keys in force when it was built). */
      after?: SessionUpdate;
    }
  | {
      kind: 'error';
      errorCode: number;
      errorData?: number;
      extendedData?: Uint8Array;
      /** Tear this session down once the ERROR is sent (a failed FINISH / PSK_FINISH). */
      teardownSessionId?: number;
    }
  /** Send nothing (a vendor handler said so). */
  | { kind: 'silent' };

/** An ERROR result; handlers `return reject(...)`. */
export function reject(
  errorCode: number,
  errorData = 0,
  extra: { extendedData?: Uint8Array; teardownSessionId?: number } = {},
): HandlerResult {
  return { kind: 'error', errorCode, errorData, ...extra };
}

export function respond(bytes: Uint8Array, after?: SessionUpdate): HandlerResult {
  return { kind: 'response', bytes, after };
}

export class ResponderContext {
  /**
   * @param data the responder's state, updated in place during the step
   * @param events where the step's events are collected (each also goes to config.onEvent)
   */
  constructor(
    readonly config: ResponderConfig,
    readonly data: ResponderState,
    readonly events: SpdmEvent[] = [],
  ) {}

  /** The connection state. */
  get state(): ConnectionState {
    return this.data.connection;
  }

  get transcript(): ConnectionTranscript {
    return this.data.transcript;
  }

  /** Open sessions by session id. */
  get sessions(): Map<number, ResponderSession> {
    return this.data.sessions;
  }

  /** The last session KEY_EXCHANGE opened (HANDSHAKE_IN_THE_CLEAR FINISH goes to it). */
  get latestSessionId(): number | undefined {
    return this.data.latestSessionId;
  }

  set latestSessionId(id: number | undefined) {
    this.data.latestSessionId = id;
  }

  get binding(): ResponderState['binding'] {
    return this.data.binding;
  }

  /** Records an event; the configured sink sees it at once, so traces keep their order. */
  emit(e: SpdmEvent): void {
    this.events.push(e);
    this.config.onEvent?.(e);
  }

  /** The connection's SPDMVersion, 0x10 before GET_CAPABILITIES (libspdm's ERROR version). */
  get version(): number {
    return connectionVersion(this.state) ?? SPDM_VERSION_10;
  }

  /** The state after ALGORITHMS. @throws RangeError before (a dispatch guard bug). */
  negotiated(): Negotiated {
    if (!isNegotiated(this.state)) throw new RangeError(`responder: ${this.state.state}`);
    return this.state;
  }

  /** Codec context for decoding requests / encoding responses of the negotiated connection. */
  codec(extra: Partial<SpdmCodecContext> = {}): SpdmCodecContext {
    const s = this.state;
    return {
      version: connectionVersion(s),
      sizes: isNegotiated(s) ? s.algorithms.sizes : undefined,
      ...extra,
    };
  }

  /** True when both ends set `flag` (requester in GET_CAPABILITIES, us in CAPABILITIES). */
  bothSupport(flag: number): boolean {
    const s = this.state;
    const peer = 'peer' in s ? s.peer.flags : 0;
    return (this.config.capabilities & flag) !== 0 && (peer & flag) !== 0;
  }

  /** True when we advertise `flag`. */
  weSupport(flag: number): boolean {
    return (this.config.capabilities & flag) !== 0;
  }

  /** The slot's chain buffer, or undefined when the slot is not provisioned. */
  chain(slotId: number): Uint8Array | undefined {
    return isNegotiated(this.state) ? this.state.algorithms.chains[slotId] : undefined;
  }

  /**
   * Signs a transcript with a slot's key in the negotiated algorithms (DSP0274 signing
   * format of the connection's version).
   * @throws CryptoError('bad-key') when the slot's key does not fit BaseAsymSel.
   */
  sign(slotId: number, context: SpdmSigningContext, transcript: Uint8Array): Uint8Array {
    const n = this.negotiated();
    const slot = this.config.slots[slotId];
    const asym = n.algorithms.suite.asym;
    if (!slot || !asym) throw new RangeError(`responder: slot ${slotId} cannot sign`);
    return spdmSign(
      { asym, hash: n.algorithms.suite.hash, version: n.version, context },
      slot.privateKey,
      transcript,
      this.config.random, // a seeded run signs deterministically
    );
  }

  /**
   * The OpaqueData of CHALLENGE_AUTH and MEASUREMENTS: none from 1.2 on when ALGORITHMS
   * selected no opaque data format, else the configured data.
   */
  responseOpaqueData(): Uint8Array {
    const n = this.negotiated();
    return n.version >= SPDM_VERSION_12 && n.algorithms.otherParams === 0
      ? new Uint8Array()
      : (this.config.opaqueData ?? new Uint8Array());
  }

  setState(next: ConnectionState): void {
    const from = this.state.state;
    this.data.connection = next;
    if (from !== next.state) {
      this.emit({
        type: 'connection-state',
        role: 'responder',
        connectionId: this.config.connectionId,
        from,
        to: next.state,
      });
    }
  }

  /** The key switch of one session (data keys active), traced. */
  establish(id: number, by: EstablishedBy): void {
    const s = this.sessions.get(id);
    if (!s) return;
    s.session = establishSession(s.session);
    // The heartbeat watchdog starts counting at the key switch.
    s.lastMessageAt = this.config.now();
    this.emitSession(id, s.session.kind, 'established', undefined, by);
  }

  /** Ends one session: secrets wiped, removed, traced. */
  endSession(id: number, cause: NonNullable<SessionEvent['cause']>): void {
    const s = this.sessions.get(id);
    if (!s) return;
    s.session = closeSession(s.session);
    this.sessions.delete(id);
    if (this.latestSessionId === id) this.latestSessionId = undefined;
    this.emitSession(id, s.session.kind, 'ended', cause);
  }

  /** The trace record of a session entering `phase`. */
  emitSession(
    sessionId: number,
    kind: SessionKind,
    phase: SessionEvent['phase'],
    cause?: SessionEvent['cause'],
    establishedBy?: EstablishedBy,
  ): void {
    this.emit({
      type: 'session',
      role: 'responder',
      connectionId: this.config.connectionId,
      sessionId,
      kind,
      phase,
      // Only an ended session names a cause; the others carry no such key.
      ...(cause === undefined ? {} : { cause }),
      ...(establishedBy === undefined ? {} : { establishedBy }),
    });
  }

  /** The trace record of an ERROR sent. */
  emitError(requestCode: number, errorCode: number, errorData: number, sessionId?: number): void {
    this.emit({
      type: 'error-response',
      role: 'responder',
      connectionId: this.config.connectionId,
      sessionId,
      requestCode,
      errorCode,
      errorName: spdmErrorName(errorCode),
      errorData,
    });
  }

  /**
   * Everything a failed request might have touched, to put back (see `restore`): O(1) in
   * the transcripts' size (marks, not copies; see transcript.ts).
   */
  snapshot(): ContextSnapshot {
    return {
      state: this.state,
      transcript: markTranscript(this.transcript),
      sessionM: new Map(
        [...this.sessions].map(([id, s]) => [id, markSessionTranscript(s.transcript)]),
      ),
      latestSessionId: this.latestSessionId,
    };
  }

  /** Puts the connection back as `snapshot` found it (a rejected request changes nothing). */
  restore(s: ContextSnapshot): void {
    this.data.connection = s.state;
    rollBackTranscript(this.transcript, s.transcript);
    for (const [id, m] of s.sessionM) {
      const rs = this.sessions.get(id);
      if (rs) rollBackSessionTranscript(rs.transcript, m);
    }
    this.latestSessionId = s.latestSessionId;
  }
}

export interface ContextSnapshot {
  state: ConnectionState;
  transcript: TranscriptMark;
  sessionM: Map<number, SessionTranscriptMark>;
  latestSessionId: number | undefined;
}
