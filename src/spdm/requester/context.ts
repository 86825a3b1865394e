/**
 * The requester's side of one SPDM connection (DSP0274 1.0-1.3): the connection state as a
 * discriminated union on `state` (each holding only what is known then), the transcripts,
 * what it learnt about the peer (verified certificate chains, digests, measurements) and
 * its secured sessions. The request flows in this folder read and update it; nothing else
 * does.
 */
import type { KeyObject } from 'node:crypto';
import type { LeafRequirements } from '../../crypto/cert-verify.ts';
import { type SpdmSigningContext, spdmVerify } from '../../crypto/signing.ts';
import type { AlgorithmSuite } from '../../crypto/suite.ts';
import type { Clock } from '../../wire/clock.ts';
import type { AlgorithmSizes } from '../../wire/spdm/context.ts';
import type { MeasurementBlock } from '../../wire/spdm/measurements.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import type { RequesterConfig } from '../config.ts';
import type { SpdmEvent, VerifyTarget } from '../events.ts';
import { closeSession, type SessionState } from '../session.ts';
import type { ConnectionTranscript, SessionTranscript } from '../transcript.ts';
import type { VerifiedChainCache } from './chain-cache.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';

/** What the responder said about itself in CAPABILITIES. */
export interface PeerCapabilities {
  flags: number;
  ctExponent: number;
  /** 1.2+. */
  dataTransferSize?: number;
  /** 1.2+. */
  maxSpdmMsgSize?: number;
}

/** The single bits ALGORITHMS selected (0 = none). */
export interface AlgorithmSelection {
  measurementSpec: number;
  otherParams: number;
  measurementHash: number;
  baseAsym: number;
  baseHash: number;
  dhe: number;
  aead: number;
  reqBaseAsym: number;
  keySchedule: number;
}

/** Everything VCA settled. */
export interface Negotiated {
  /** SPDMVersion byte. */
  version: number;
  /** Our CAPABILITIES flags as sent. */
  localFlags: number;
  peer: PeerCapabilities;
  selection: AlgorithmSelection;
  suite: AlgorithmSuite;
  /** H, S, D for the codecs. */
  sizes: AlgorithmSizes;
  /** Both sides set HANDSHAKE_IN_THE_CLEAR_CAP (and KEY_EX_CAP). */
  handshakeInTheClear: boolean;
  /** SPDM 1.3 MULTI_KEY_CONN_RSP: the DIGESTS response goes into session transcripts. */
  multiKeyConn: boolean;
}

/** The requester's connection state (libspdm's connection_state, as data). */
export type RequesterState =
  | { state: 'NOT_STARTED' }
  | { state: 'AFTER_VERSION'; version: number; peerVersions: number[] }
  | { state: 'AFTER_CAPABILITIES'; version: number; peer: PeerCapabilities; localFlags: number }
  | { state: 'NEGOTIATED'; negotiated: Negotiated }
  /** A CHALLENGE_AUTH verified (libspdm LIBSPDM_CONNECTION_STATE_AUTHENTICATED). */
  | { state: 'AUTHENTICATED'; negotiated: Negotiated };

/** A peer certificate chain that verified against the trust anchors. */
export interface PeerChain {
  slot: number;
  /** The whole SPDM chain buffer (header, RootHash, DER certificates). */
  buffer: Uint8Array;
  /** Hash(Cert) with the negotiated hash. */
  hash: Uint8Array;
  certificates: Uint8Array[];
  leafPublicKey: KeyObject;
  /** The leaf's subject and issuer distinguished names. */
  subject: string;
  issuer: string;
}

/** A measurement summary hash received before the measurements it summarises were known. */
export interface PendingSummary {
  source: 'challenge' | 'key-exchange';
  /** SPDM_MEAS_SUMMARY_TCB or SPDM_MEAS_SUMMARY_ALL. */
  type: number;
  hash: Uint8Array;
  sessionId?: number;
}

/** A secured session as the requester holds it: the record layer plus its transcript. */
export class RequesterSession {
  constructor(
    /** The record layer's state, replaced by each record sealed or opened. */
    public secured: SessionState,
    readonly transcript: SessionTranscript,
    /** The responder slot whose key signed KEY_EXCHANGE_RSP. */
    readonly slot: number,
    /** HeartbeatPeriod from KEY_EXCHANGE_RSP (seconds, 0 = none). */
    readonly heartbeatPeriod: number,
    /** DSP0277 version the responder selected (u16 as on the wire). */
    readonly securedMessageVersion: number,
    /** MeasurementSummaryHash from KEY_EXCHANGE_RSP, when one was asked for. */
    readonly measurementSummaryHash?: Uint8Array,
  ) {}

  get id(): number {
    return this.secured.id;
  }

  get kind(): 'dhe' | 'psk' {
    return this.secured.kind;
  }

  get phase(): 'handshake' | 'established' | 'ended' {
    return this.secured.phase;
  }

  /** @throws SpdmUsageError unless the session is established. */
  requireEstablished(): void {
    if (this.phase !== 'established')
      throw new SpdmUsageError(`session 0x${this.id.toString(16)} is not established`);
  }
}

/** Requester knobs that are not part of the shared endpoint configuration. */
export interface RequesterOptions {
  /** Deadline for each exchange (default: the transport's own, 10 s for the socket). */
  timeoutMs?: number;
  /** Busy retries and ResponseNotReady follow-ups per request (default 3, as libspdm). */
  retries?: number;
  /** Longest wait before a RESPOND_IF_READY, in ms (default 1000). */
  maxNotReadyWaitMs?: number;
  /** What the ResponseNotReady wait sleeps on (default: the real clock). */
  clock?: Clock;
  /** Extensions the responder's leaf certificate must carry (default: none). */
  leaf?: LeafRequirements;
  /** Verification time for certificate validity (default: now). */
  verifyAt?: Date;
  /** Largest GET_CERTIFICATE Length asked for (default 1024, libspdm's block length). */
  certificateBlockLength?: number;
  /**
   * Verified chains shared across connections: getCertificate skips GET_CERTIFICATE when
   * the last DIGESTS names a chain in it (default: none, every chain is read and verified).
   */
  chainCache?: VerifiedChainCache;
}

/** The state every request flow works on. */
export class RequesterCore {
  conn: RequesterState = { state: 'NOT_STARTED' };
  readonly chains = new Map<number, PeerChain>();
  /** The last DIGESTS: slot -> digest. */
  readonly digests = new Map<number, Uint8Array>();
  /** The last full set of measurement blocks in digest form (GET_MEASUREMENTS all, not raw). */
  measurements: MeasurementBlock[] | undefined;
  readonly pendingSummaries: PendingSummary[] = [];
  readonly sessions = new Map<number, RequesterSession>();

  constructor(
    readonly config: RequesterConfig,
    readonly transport: RequesterTransport,
    readonly transcript: ConnectionTranscript,
    readonly options: RequesterOptions,
  ) {}

  emit(e: SpdmEvent): void {
    this.config.onEvent?.(e);
  }

  /** Moves to a new connection state and says so in the trace. */
  setState(next: RequesterState): void {
    const from = this.conn.state;
    this.conn = next;
    if (from !== next.state) {
      this.emit({
        type: 'connection-state',
        role: 'requester',
        connectionId: this.config.connectionId,
        from,
        to: next.state,
      });
    }
  }

  /** Records a check's verdict in the trace. */
  verified(what: VerifyTarget, ok: boolean, sessionId?: number): void {
    if (!this.config.onEvent) return;
    this.emit({
      type: 'verify',
      role: 'requester',
      connectionId: this.config.connectionId,
      sessionId,
      what,
      verdict: ok ? 'ok' : 'verify-failed',
    });
  }

  /**
   * Checks a responder signature over `transcript` (named `over` in the error) with slot's
   * leaf key in the negotiated algorithms, and records the verdict as `what`.
   * @throws SpdmVerifyError(what) when it does not verify.
   */
  verifySignature(
    what: VerifyTarget,
    context: SpdmSigningContext,
    slot: number,
    chain: PeerChain,
    over: string,
    transcript: Uint8Array,
    signature: Uint8Array,
    sessionId?: number,
  ): void {
    const n = this.negotiated();
    const ok = spdmVerify(
      { asym: n.suite.asym!, hash: n.suite.hash, version: n.version, context },
      chain.leafPublicKey,
      transcript,
      signature,
    );
    this.verified(what, ok, sessionId);
    if (!ok) {
      throw new SpdmVerifyError(
        what,
        `signature over ${over} does not verify with slot ${slot}'s leaf key`,
      );
    }
  }

  /** The negotiated parameters. @throws SpdmUsageError before ALGORITHMS. */
  negotiated(): Negotiated {
    const c = this.conn;
    if (c.state === 'NEGOTIATED' || c.state === 'AUTHENTICATED') return c.negotiated;
    throw new SpdmUsageError(`not negotiated yet (connection is ${c.state}): call connect() first`);
  }

  /** The SPDMVersion GET_CAPABILITIES fixed (undefined before CAPABILITIES). */
  get connectionVersion(): number | undefined {
    const c = this.conn;
    if (c.state === 'AFTER_CAPABILITIES') return c.version;
    if (c.state === 'NEGOTIATED' || c.state === 'AUTHENTICATED') return c.negotiated.version;
    return undefined;
  }

  get authenticated(): boolean {
    return this.conn.state === 'AUTHENTICATED';
  }

  /** The verified chain of a slot. @throws SpdmUsageError when it was not retrieved. */
  chain(slot: number): PeerChain {
    const c = this.chains.get(slot);
    if (!c)
      throw new SpdmUsageError(
        `no verified certificate chain for slot ${slot}: call getCertificate(${slot}) first`,
      );
    return c;
  }

  /** A live session by handle or id. @throws SpdmUsageError when unknown or ended. */
  session(s: RequesterSession | number): RequesterSession {
    const id = typeof s === 'number' ? s >>> 0 : s.id;
    const found = this.sessions.get(id);
    if (!found || found.phase === 'ended') {
      throw new SpdmUsageError(`no live session 0x${id.toString(16).padStart(8, '0')}`);
    }
    return found;
  }

  /** Ends a session locally (secrets wiped) and forgets it. */
  dropSession(
    s: RequesterSession,
    cause: 'end-session' | 'finish-failed' | 'decrypt-error' | 'reset' | 'version-restart',
  ): void {
    const wasLive = s.phase !== 'ended';
    s.secured = closeSession(s.secured);
    this.sessions.delete(s.id);
    if (wasLive) {
      this.emit({
        type: 'session',
        role: 'requester',
        connectionId: this.config.connectionId,
        sessionId: s.id,
        kind: s.kind,
        phase: 'ended',
        cause,
      });
    }
  }
}
