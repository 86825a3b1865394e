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
 */

import {
  SPDM_MEAS_SUMMARY_ALL,
  SPDM_MEAS_SUMMARY_NONE,
  SPDM_MEAS_SUMMARY_TCB,
} from '../../wire/spdm/constants.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import { type RequesterConfig, requesterConfig } from '../config.ts';
import { connectionTranscript } from '../transcript.ts';
import { negotiateAlgorithms } from './algorithms.ts';
import { getCapabilities } from './capabilities.ts';
import { getCertificate } from './certificate.ts';
import { type ChallengeResult, challenge } from './challenge.ts';
import {
  type Negotiated,
  type PeerCapabilities,
  type PeerChain,
  RequesterCore,
  type RequesterOptions,
  type RequesterSession,
  type RequesterState,
} from './context.ts';
import { type DigestsResult, getDigests } from './digests.ts';
import { endSession } from './end-session.ts';
import { exchange } from './exchange.ts';
import { finish } from './finish.ts';
import { heartbeat } from './heartbeat.ts';
import { type KeyExchangeOptions, keyExchange } from './key-exchange.ts';
import { type KeyUpdateOperation, keyUpdate } from './key-update.ts';
import {
  getMeasurements,
  type MeasurementsRequest,
  type MeasurementsResult,
} from './measurements.ts';
import { sendVendorDefined, type VendorDefinedMessage } from './vendor-defined.ts';
import { getVersion, type VersionResult } from './version.ts';

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

export interface ConnectResult {
  version: VersionResult;
  capabilities: PeerCapabilities;
  negotiated: Negotiated;
}

export class SpdmRequester {
  private readonly core: RequesterCore;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * @param transport how requests reach the responder
   * @param config what we offer and trust (requesterConfig() fills the defaults)
   * @param options timeouts, retries, leaf certificate requirements
   */
  constructor(
    readonly transport: RequesterTransport,
    config: RequesterConfig = requesterConfig(),
    options: RequesterOptions = {},
  ) {
    this.core = new RequesterCore(config, transport, connectionTranscript(), options);
  }

  /** One call at a time: each flow is a sequence of exchanges that must not interleave. */
  private run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The connection state: NOT_STARTED, AFTER_VERSION, ..., NEGOTIATED, AUTHENTICATED. */
  get state(): RequesterState['state'] {
    return this.core.conn.state;
  }

  /** What VCA settled, once it has. */
  get negotiated(): Negotiated | undefined {
    const c = this.core.conn;
    return c.state === 'NEGOTIATED' || c.state === 'AUTHENTICATED' ? c.negotiated : undefined;
  }

  /** The live sessions (handshake or established). */
  get sessions(): RequesterSession[] {
    return [...this.core.sessions.values()];
  }

  /** The verified chain of a slot, if it was read. */
  peerChain(slot = 0): PeerChain | undefined {
    return this.core.chains.get(slot);
  }

  /** GET_VERSION alone (starts the connection over). */
  getVersion(): Promise<VersionResult> {
    return this.run(() => getVersion(this.core));
  }

  /** GET_CAPABILITIES alone (after getVersion). */
  getCapabilities(): Promise<PeerCapabilities> {
    return this.run(() => getCapabilities(this.core));
  }

  /** NEGOTIATE_ALGORITHMS alone (after getCapabilities). */
  negotiateAlgorithms(): Promise<Negotiated> {
    return this.run(() => negotiateAlgorithms(this.core));
  }

  /**
   * VCA: GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS.
   * @throws SpdmVerifyError ('version', 'capabilities', 'algorithms', 'response'),
   *   SpdmErrorResponse, TransportError.
   */
  connect(): Promise<ConnectResult> {
    return this.run(async () => {
      const version = await getVersion(this.core);
      const capabilities = await getCapabilities(this.core);
      const negotiated = await negotiateAlgorithms(this.core);
      return { version, capabilities, negotiated };
    });
  }

  /** GET_DIGESTS. @throws as digests.ts getDigests. */
  getDigests(): Promise<DigestsResult> {
    return this.run(() => getDigests(this.core));
  }

  /**
   * GET_CERTIFICATE of a slot, chunked and verified; with options.chainCache, the cached
   * chain instead when the last DIGESTS names one. @throws as certificate.ts getCertificate.
   */
  getCertificate(slot = 0): Promise<PeerChain> {
    return this.run(() => getCertificate(this.core, slot));
  }

  /** CHALLENGE. @throws as challenge.ts challenge. */
  challenge(slot = 0, summary: SummaryHashType = 'none'): Promise<ChallengeResult> {
    return this.run(() => challenge(this.core, slot, SUMMARY[summary]));
  }

  /** GET_MEASUREMENTS. @throws as measurements.ts getMeasurements. */
  getMeasurements(o: MeasurementsRequest = {}): Promise<MeasurementsResult> {
    return this.run(() => getMeasurements(this.core, o));
  }

  /**
   * KEY_EXCHANGE + FINISH: a new established session.
   * @throws as key-exchange.ts keyExchange and finish.ts finish; the session is dropped on
   *   any failure.
   */
  startSession(o: StartSessionOptions = {}): Promise<RequesterSession> {
    return this.run(async () => {
      const s = await keyExchange(this.core, {
        ...o,
        measurementSummaryHashType: SUMMARY[o.measurementSummaryHash ?? 'none'],
      });
      try {
        await finish(this.core, s);
      } catch (e) {
        this.core.dropSession(s, 'finish-failed');
        throw e;
      }
      return s;
    });
  }

  /** VENDOR_DEFINED_REQUEST, inside `session` when given. @throws as vendor-defined.ts. */
  sendVendorDefined(
    session: RequesterSession | number | undefined,
    m: VendorDefinedMessage,
  ): Promise<VendorDefinedMessage> {
    return this.run(() =>
      sendVendorDefined(
        this.core,
        session === undefined ? undefined : this.core.session(session),
        m,
      ),
    );
  }

  /** HEARTBEAT. @throws as heartbeat.ts. */
  heartbeat(session: RequesterSession | number): Promise<void> {
    return this.run(() => heartbeat(this.core, this.core.session(session)));
  }

  /** KEY_UPDATE then VerifyNewKey. @throws as key-update.ts. */
  keyUpdate(
    session: RequesterSession | number,
    operation: KeyUpdateOperation = 'update-key',
  ): Promise<void> {
    return this.run(() => keyUpdate(this.core, this.core.session(session), operation));
  }

  /** END_SESSION; the session is over locally whatever the answer. @throws as end-session.ts. */
  endSession(session: RequesterSession | number, clearNegotiatedState = false): Promise<void> {
    return this.run(() => endSession(this.core, this.core.session(session), clearNegotiatedState));
  }

  /**
   * Sends any SPDM message (plain or in a session) and returns the response bytes, for
   * conformance tests: no transcript is touched and no field is checked (over PCI DOE the
   * bytes keep their dword padding: nothing decoded them).
   * @throws SpdmErrorResponse when the answer is ERROR; TransportError; SpdmVerifyError
   *   'secured-record' when a response record does not open.
   */
  sendRaw(request: Uint8Array, session?: RequesterSession | number): Promise<Uint8Array> {
    return this.run(async () => {
      const s = session === undefined ? undefined : this.core.session(session);
      const { bytes } = await exchange(
        this.core,
        request,
        { code: undefined, codec: undefined },
        { session: s, unchecked: true },
      );
      return bytes;
    });
  }

  /** Forgets every session (secrets wiped) and closes the transport. */
  close(): Promise<void> {
    return this.run(async () => {
      for (const s of [...this.core.sessions.values()]) this.core.dropSession(s, 'reset');
      await this.core.transport.close();
    });
  }
}
