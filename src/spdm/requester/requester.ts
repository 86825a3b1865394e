/**
 * The SPDM requester (DSP0274 1.0-1.3, DSP0277 sessions): a small async API over a
 * RequesterTransport, one request flow per file in this folder. Calls run one at a time
 * (a second call waits for the first), every response is checked before anything is
 * believed, and a failure leaves no half-open session: a session that did not complete,
 * or whose records stopped opening, is ended and forgotten.
 *
 *   const r = new SpdmRequester(transport, requesterConfig({ trustAnchors: [rootDer] }));
 *   await r.connect();                       // GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS
 *   await r.getDigests();
 *   await r.getCertificate(0);               // chunked, verified against the trust anchors
 *   await r.getMeasurements({ index: 'all' });
 *   const s = await r.startSession();        // KEY_EXCHANGE + FINISH
 *   await r.sendVendorDefined(s, { standardId: 3, vendorId, payload });
 *   await r.endSession(s);
 *
 * Requesters that meet the same responders again can share a VerifiedChainCache
 * (options.chainCache): getCertificate then answers from it, without GET_CERTIFICATE, when
 * the last DIGESTS names a chain that verified under the same trust anchors and policy.
 *
 * This class is the driver of the sans-IO requester (step.ts): it holds the RequesterData
 * (plain data, state.ts) and runs each call as `out = requesterStart(...)`, then
 * `reply = await transport.exchange(out)` and `requesterReceive(...)` until the call is
 * done, sleeping on its clock where a step asks it to wait. Forking a requester =
 * structuredClone(`stateSnapshot()`) given to `SpdmRequester.resume`.
 */

import type { KeyObject } from 'node:crypto';
import { realClock } from '../../wire/clock.ts';
import {
  SPDM_MEAS_SUMMARY_ALL,
  SPDM_MEAS_SUMMARY_NONE,
  SPDM_MEAS_SUMMARY_TCB,
} from '../../wire/spdm/constants.ts';
import type { RequesterTransport, TransportMessage } from '../../wire/transport.ts';
import { type RequesterConfig, requesterConfig } from '../config.ts';
import type { ConnectResult, RequesterCall, RequesterResults } from './calls.ts';
import type { ChallengeResult } from './challenge.ts';
import { leafKey, type RequesterOptions } from './context.ts';
import type { DigestsResult } from './digests.ts';
import type { KeyExchangeOptions } from './key-exchange.ts';
import type { KeyUpdateOperation } from './key-update.ts';
import type { MeasurementsRequest, MeasurementsResult } from './measurements.ts';
import { RequesterSession } from './session-handle.ts';
import {
  type ChainRecord,
  copyRequesterData,
  initialRequesterData,
  isNegotiated,
  type Negotiated,
  type PeerCapabilities,
  type RequesterData,
  type RequesterState,
} from './state.ts';
import {
  requesterAbort,
  requesterForgetSessions,
  requesterReceive,
  requesterStart,
} from './step.ts';
import type { VendorDefinedMessage } from './vendor-defined.ts';
import type { VersionResult } from './version.ts';

export type { ConnectResult } from './calls.ts';

/** Which measurement summary hash CHALLENGE / KEY_EXCHANGE ask for. */
export type SummaryHashType = 'none' | 'tcb' | 'all';

const SUMMARY: Record<SummaryHashType, number> = {
  none: SPDM_MEAS_SUMMARY_NONE,
  tcb: SPDM_MEAS_SUMMARY_TCB,
  all: SPDM_MEAS_SUMMARY_ALL,
};

export interface StartSessionOptions
  extends Omit<KeyExchangeOptions, 'measurementSummaryHashType'> {
  measurementSummaryHash?: SummaryHashType;
}

/** A verified peer certificate chain, its leaf key imported. */
export interface PeerChain extends Omit<ChainRecord, 'leafSpki'> {
  leafPublicKey: KeyObject;
}

function peerChainOf(c: ChainRecord): PeerChain {
  const { leafSpki: _, ...rest } = c;
  return { ...rest, leafPublicKey: leafKey(c) };
}

export class SpdmRequester {
  readonly config: RequesterConfig;
  private data: RequesterData;
  private queue: Promise<unknown> = Promise.resolve();
  /** One handle per session id, so callers can compare them. */
  private readonly handles = new Map<number, RequesterSession>();

  /**
   * @param transport how requests reach the responder
   * @param config what we offer and trust (requesterConfig() fills the defaults)
   * @param options timeouts, retries, leaf certificate requirements
   */
  constructor(
    readonly transport: RequesterTransport,
    config: RequesterConfig = requesterConfig(),
    readonly options: RequesterOptions = {},
  ) {
    this.config = config;
    this.data = initialRequesterData(transport.binding);
  }

  /**
   * A requester that carries on from `state` (a structuredClone of another requester's
   * `stateSnapshot()`); the state is taken over, not copied. A call that was in flight in
   * `state` has no caller here: it ends as if its bytes had not moved.
   */
  static resume(
    transport: RequesterTransport,
    config: RequesterConfig,
    state: RequesterData,
    options: RequesterOptions = {},
  ): SpdmRequester {
    const r = new SpdmRequester(transport, config, options);
    r.data = state.call
      ? requesterAbort(state, config, new Error('call in flight when resumed'), undefined, options)
          .state
      : state;
    return r;
  }

  /**
   * A copy of the engine's whole state (plain data), e.g. to fork a world: a deep copy but
   * for the recorded bytes no step writes again (copyRequesterData).
   */
  stateSnapshot(): RequesterData {
    return copyRequesterData(this.data);
  }

  /** One call at a time: each flow is a sequence of exchanges that must not interleave. */
  private run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Carries one call to its end: start, then exchange and receive until done. */
  private call<K extends RequesterCall['kind']>(
    call: Extract<RequesterCall, { kind: K }>,
  ): Promise<RequesterResults[K]> {
    return this.run(async () => {
      const { config, options } = this;
      let step = requesterStart(this.data, config, call, options);
      this.data = step.state;
      for (;;) {
        if (step.done) return step.done.result as RequesterResults[K];
        if (step.wait !== undefined) await (options.clock ?? realClock).sleep(step.wait);
        let reply: TransportMessage;
        try {
          reply = await this.transport.exchange(step.out!, options.timeoutMs);
        } catch (e) {
          this.data = requesterAbort(this.data, config, e, undefined, options).state;
          throw e;
        }
        try {
          step = requesterReceive(this.data, config, reply, options);
        } catch (e) {
          this.data = requesterAbort(this.data, config, e, reply, options).state;
          throw e;
        }
        this.data = step.state;
      }
    });
  }

  private handle(id: number): RequesterSession {
    let h = this.handles.get(id);
    const record = this.data.sessions.get(id);
    if (!h && record) {
      h = new RequesterSession((i) => this.data.sessions.get(i), record);
      this.handles.set(id, h);
    }
    if (!h) throw new Error(`session 0x${id.toString(16)} has no record`);
    return h;
  }

  private static idOf(s: RequesterSession | number): number {
    return typeof s === 'number' ? s >>> 0 : s.id;
  }

  /** The connection state: NOT_STARTED, AFTER_VERSION, ..., NEGOTIATED, AUTHENTICATED. */
  get state(): RequesterState['state'] {
    return this.data.connection.state;
  }

  /** What VCA settled, once it has. */
  get negotiated(): Negotiated | undefined {
    const c = this.data.connection;
    return isNegotiated(c) ? c.negotiated : undefined;
  }

  /** The live sessions (handshake or established). */
  get sessions(): RequesterSession[] {
    for (const id of this.handles.keys()) if (!this.data.sessions.has(id)) this.handles.delete(id);
    return [...this.data.sessions.keys()].map((id) => this.handle(id));
  }

  /** The verified chain of a slot, if it was read. */
  peerChain(slot = 0): PeerChain | undefined {
    const c = this.data.chains.get(slot);
    return c && peerChainOf(c);
  }

  /** GET_VERSION alone (starts the connection over). */
  getVersion(): Promise<VersionResult> {
    return this.call({ kind: 'getVersion' });
  }

  /** GET_CAPABILITIES alone (after getVersion). */
  getCapabilities(): Promise<PeerCapabilities> {
    return this.call({ kind: 'getCapabilities' });
  }

  /** NEGOTIATE_ALGORITHMS alone (after getCapabilities). */
  negotiateAlgorithms(): Promise<Negotiated> {
    return this.call({ kind: 'negotiateAlgorithms' });
  }

  /**
   * VCA: GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS.
   * @throws SpdmVerifyError ('version', 'capabilities', 'algorithms', 'response'),
   *   SpdmErrorResponse, TransportError.
   */
  connect(): Promise<ConnectResult> {
    return this.call({ kind: 'connect' });
  }

  /** GET_DIGESTS. @throws as digests.ts. */
  getDigests(): Promise<DigestsResult> {
    return this.call({ kind: 'getDigests' });
  }

  /**
   * GET_CERTIFICATE of a slot, chunked and verified; with options.chainCache, the cached
   * chain instead when the last DIGESTS names one. @throws as certificate.ts.
   */
  async getCertificate(slot = 0): Promise<PeerChain> {
    return peerChainOf(await this.call({ kind: 'getCertificate', slot }));
  }

  /** CHALLENGE. @throws as challenge.ts. */
  challenge(slot = 0, summary: SummaryHashType = 'none'): Promise<ChallengeResult> {
    return this.call({ kind: 'challenge', slot, summary: SUMMARY[summary] });
  }

  /** GET_MEASUREMENTS. @throws as measurements.ts. */
  getMeasurements(o: MeasurementsRequest = {}): Promise<MeasurementsResult> {
    const { session, ...rest } = o;
    const request =
      session === undefined ? rest : { ...rest, session: SpdmRequester.idOf(session) };
    return this.call({ kind: 'getMeasurements', request });
  }

  /**
   * KEY_EXCHANGE + FINISH: a new established session.
   * @throws as key-exchange.ts and finish.ts; the session is dropped on any failure.
   */
  async startSession(o: StartSessionOptions = {}): Promise<RequesterSession> {
    const { measurementSummaryHash, ...rest } = o;
    const id = await this.call({
      kind: 'startSession',
      options: { ...rest, measurementSummaryHashType: SUMMARY[measurementSummaryHash ?? 'none'] },
    });
    return this.handle(id);
  }

  /** VENDOR_DEFINED_REQUEST, inside `session` when given. @throws as vendor-defined.ts. */
  sendVendorDefined(
    session: RequesterSession | number | undefined,
    m: VendorDefinedMessage,
  ): Promise<VendorDefinedMessage> {
    const sessionId = session === undefined ? undefined : SpdmRequester.idOf(session);
    return this.call({ kind: 'vendorDefined', sessionId, message: m });
  }

  /** HEARTBEAT. @throws as heartbeat.ts. */
  heartbeat(session: RequesterSession | number): Promise<void> {
    return this.call({ kind: 'heartbeat', sessionId: SpdmRequester.idOf(session) });
  }

  /** KEY_UPDATE then VerifyNewKey. @throws as key-update.ts. */
  keyUpdate(
    session: RequesterSession | number,
    operation: KeyUpdateOperation = 'update-key',
  ): Promise<void> {
    return this.call({ kind: 'keyUpdate', sessionId: SpdmRequester.idOf(session), operation });
  }

  /** END_SESSION; the session is over locally whatever the answer. @throws as end-session.ts. */
  endSession(session: RequesterSession | number, clearNegotiatedState = false): Promise<void> {
    return this.call({
      kind: 'endSession',
      sessionId: SpdmRequester.idOf(session),
      clearNegotiatedState,
    });
  }

  /**
   * Sends any SPDM message (plain or in a session) and returns the response bytes, for
   * conformance tests: no transcript is touched and no field is checked (over PCI DOE the
   * bytes keep their dword padding: nothing decoded them).
   * @throws SpdmErrorResponse when the answer is ERROR; TransportError; SpdmVerifyError
   *   'secured-record' when a response record does not open.
   */
  sendRaw(request: Uint8Array, session?: RequesterSession | number): Promise<Uint8Array> {
    const sessionId = session === undefined ? undefined : SpdmRequester.idOf(session);
    return this.call({ kind: 'raw', request, sessionId });
  }

  /** Forgets every session (secrets wiped) and closes the transport. */
  close(): Promise<void> {
    return this.run(async () => {
      this.data = requesterForgetSessions(this.data, this.config).state;
      await this.transport.close();
    });
  }
}
