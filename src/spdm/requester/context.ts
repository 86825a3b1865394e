/**
 * The working context of one requester step (DSP0274 1.0-1.3): the RequesterData being
 * advanced (a copy the step owns, see step.ts), the configuration and options it reads, the
 * events the step produced, and the helpers every request flow shares: the connection
 * state and its trace, verdicts and signature checks, the chains and sessions by slot and
 * id, and the random source (the seeded stream carried in the data when there is one).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { LeafRequirements } from '../../crypto/cert-verify.ts';
import { KeptResults, keptKey } from '../../crypto/kept.ts';
import { type RandomSource, randomFromState, type SeededRandom } from '../../crypto/random.ts';
import { type SpdmSigningContext, spdmVerifySpki } from '../../crypto/signing.ts';
import type { Clock } from '../../wire/clock.ts';
import type { RequesterConfig } from '../config.ts';
import type { SpdmEvent, VerifyTarget } from '../events.ts';
import { closeSession } from '../session.ts';
import type { VerifiedChainCache } from './chain-cache.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import {
  type ChainRecord,
  isNegotiated,
  type Negotiated,
  type RequesterData,
  type RequesterState,
  type SessionRecord,
} from './state.ts';

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
   * Verified chains shared across connections: getCertificate takes a chain from here when
   * the last DIGESTS names one (no GET_CERTIFICATE), and adds each chain it verifies.
   */
  chainCache?: VerifiedChainCache;
}

/** Why a session ended locally (the trace event's cause). */
export type DropCause =
  | 'end-session'
  | 'finish-failed'
  | 'decrypt-error'
  | 'reset'
  | 'version-restart';

/**
 * Leaf keys imported, by their SPKI DER, and the other way round (the latest kept): a key
 * is immutable, and the same chain is taken again at every connection.
 */
const LEAF_KEYS = new KeptResults<KeyObject>(256);
const SPKI = new WeakMap<KeyObject, Uint8Array>();

/** The leaf key of a chain, imported from its SPKI DER. */
export function leafKey(chain: ChainRecord): KeyObject {
  const k = keptKey('spki', chain.leafSpki);
  let key = LEAF_KEYS.get(k);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(chain.leafSpki), format: 'der', type: 'spki' });
    LEAF_KEYS.set(k, key);
  }
  return key;
}

/** A public key as SPKI DER (how a ChainRecord keeps it). */
export function spkiOf(key: KeyObject): Uint8Array {
  let der = SPKI.get(key);
  if (!der) {
    der = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
    SPKI.set(key, der);
  }
  return der.slice();
}

export class RequesterContext {
  readonly events: SpdmEvent[] = [];
  private seeded: SeededRandom | undefined;

  constructor(
    readonly config: RequesterConfig,
    readonly options: RequesterOptions,
    /** The data this step owns and advances. */
    readonly data: RequesterData,
  ) {}

  get conn(): RequesterState {
    return this.data.connection;
  }

  get transcript(): RequesterData['transcript'] {
    return this.data.transcript;
  }

  /** Records an event; the configured sink sees it at once, so traces keep their order. */
  emit(e: SpdmEvent): void {
    this.events.push(e);
    this.config.onEvent?.(e);
  }

  /**
   * Random bytes: from the seeded stream the data carries (advanced, see `settleRandom`),
   * else from the configuration's source.
   */
  readonly random: RandomSource = (n) => {
    const s = this.data.random;
    if (!s) return this.config.random(n);
    this.seeded ??= randomFromState(s);
    return this.seeded(n);
  };

  /** Writes the seeded stream's position back into the data (once the step is done). */
  settleRandom(): void {
    if (this.seeded) this.data.random = this.seeded.state();
  }

  /** Moves to a new connection state and says so in the trace. */
  setState(next: RequesterState): void {
    const from = this.data.connection.state;
    this.data.connection = next;
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
    chain: ChainRecord,
    over: string,
    transcript: Uint8Array,
    signature: Uint8Array,
    sessionId?: number,
  ): void {
    const n = this.negotiated();
    const ok = spdmVerifySpki(
      { asym: n.suite.asym!, hash: n.suite.hash, version: n.version, context },
      chain.leafSpki,
      transcript,
      signature,
    );
    this.verified(what, ok, sessionId);
    if (!ok) {
      throw new SpdmVerifyError(
        what,
        `signature over ${over} does not verify with slot ${chain.slot}'s leaf key`,
      );
    }
  }

  /** The negotiated parameters. @throws SpdmUsageError before ALGORITHMS. */
  negotiated(): Negotiated {
    const c = this.data.connection;
    if (isNegotiated(c)) return c.negotiated;
    throw new SpdmUsageError(`not negotiated yet (connection is ${c.state}): call connect() first`);
  }

  /** The SPDMVersion GET_CAPABILITIES fixed (undefined before CAPABILITIES). */
  get connectionVersion(): number | undefined {
    const c = this.data.connection;
    if (c.state === 'AFTER_CAPABILITIES') return c.version;
    if (isNegotiated(c)) return c.negotiated.version;
    return undefined;
  }

  get authenticated(): boolean {
    return this.data.connection.state === 'AUTHENTICATED';
  }

  /** The verified chain of a slot. @throws SpdmUsageError when it was not retrieved. */
  chain(slot: number): ChainRecord {
    const c = this.data.chains.get(slot);
    if (!c)
      throw new SpdmUsageError(
        `no verified certificate chain for slot ${slot}: call getCertificate(${slot}) first`,
      );
    return c;
  }

  /** A live session by id. @throws SpdmUsageError when unknown or ended. */
  session(id: number): SessionRecord {
    const found = this.data.sessions.get(id >>> 0);
    if (!found || found.secured.phase === 'ended') {
      throw new SpdmUsageError(`no live session 0x${(id >>> 0).toString(16).padStart(8, '0')}`);
    }
    return found;
  }

  /** An established session by id. @throws SpdmUsageError unless it is live and established. */
  established(id: number): SessionRecord {
    const s = this.session(id);
    if (s.secured.phase !== 'established')
      throw new SpdmUsageError(`session 0x${s.secured.id.toString(16)} is not established`);
    return s;
  }

  /** Ends a session locally (secrets wiped) and forgets it; nothing when it is unknown. */
  dropSession(id: number, cause: DropCause): void {
    const s = this.data.sessions.get(id);
    if (!s) return;
    const wasLive = s.secured.phase !== 'ended';
    s.secured = closeSession(s.secured);
    this.data.sessions.delete(id);
    if (wasLive) {
      this.emit({
        type: 'session',
        role: 'requester',
        connectionId: this.config.connectionId,
        sessionId: id,
        kind: s.secured.kind,
        phase: 'ended',
        cause,
      });
    }
  }
}
