/**
 * The requester's state (DSP0274 1.3 section 9 "Connection state"; libspdm's
 * LIBSPDM_CONNECTION_STATE_* on the requester side) as plain data: the connection state as
 * a discriminated union on `state` (each holding only what is known then), the connection
 * transcript, what was learnt about the peer (DIGESTS, verified certificate chains with the
 * leaf key as SPKI DER, the measurement blocks and the summary hashes still waiting for
 * them), the secured sessions, and the call in flight: what was sent, what is expected,
 * the retries left and how far a call of several messages got. Everything is
 * structuredClone-able, so a requester can be stopped between two messages, copied, and
 * continued from data alone (step.ts); the configuration (trust anchors, random source,
 * event sink) is not part of it.
 */

import type { DrbgState } from '../../crypto/random.ts';
import type { AlgorithmSuite } from '../../crypto/suite.ts';
import { clonePlain } from '../../wire/clone.ts';
import type { SecuredBinding } from '../../wire/secured.ts';
import type { AlgorithmSizes } from '../../wire/spdm/context.ts';
import type { MeasurementBlock } from '../../wire/spdm/measurements.ts';
import type { SessionState } from '../session.ts';
import {
  type ConnectionTranscript,
  connectionTranscript,
  type SessionTranscript,
} from '../transcript.ts';
import type { RequesterCall } from './calls.ts';
import type { ExchangeProgress } from './exchange.ts';

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

/** A peer certificate chain that verified against the trust anchors, as data. */
export interface ChainRecord {
  slot: number;
  /** The whole SPDM chain buffer (header, RootHash, DER certificates). */
  buffer: Uint8Array;
  /** Hash(Cert) with the negotiated hash. */
  hash: Uint8Array;
  certificates: Uint8Array[];
  /** The leaf's public key as SPKI DER (crypto.createPublicKey imports it to verify). */
  leafSpki: Uint8Array;
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
export interface SessionRecord {
  /** The record layer's state, replaced by each record sealed or opened. */
  secured: SessionState;
  transcript: SessionTranscript;
  /** The responder slot whose key signed KEY_EXCHANGE_RSP. */
  slot: number;
  /** HeartbeatPeriod from KEY_EXCHANGE_RSP (seconds, 0 = none). */
  heartbeatPeriod: number;
  /** DSP0277 version the responder selected (u16 as on the wire). */
  securedMessageVersion: number;
  /** MeasurementSummaryHash from KEY_EXCHANGE_RSP, when one was asked for. */
  measurementSummaryHash?: Uint8Array;
}

/** The call being carried out: the request on the wire and how far the call got. */
export interface InFlight {
  call: RequesterCall;
  /** The current message's exchange: what was sent, what must come back, retries left. */
  exchange: ExchangeProgress;
  /** The flow's own progress (which message of the call, what it carries to the next). */
  progress: unknown;
}

/** The requester engine's state between messages (plain data; see the file header). */
export interface RequesterData {
  /** The transport binding (decides the secured-record layout). */
  binding: SecuredBinding;
  connection: RequesterState;
  transcript: ConnectionTranscript;
  /** Verified chains by slot. */
  chains: Map<number, ChainRecord>;
  /** The last DIGESTS: slot -> digest. */
  digests: Map<number, Uint8Array>;
  /** The last full set of measurement blocks in digest form (GET_MEASUREMENTS all, not raw). */
  measurements: MeasurementBlock[] | undefined;
  pendingSummaries: PendingSummary[];
  /** Live sessions by session id. */
  sessions: Map<number, SessionRecord>;
  /** The call in flight, between requesterStart and its last response. */
  call: InFlight | undefined;
  /**
   * The position of a seeded random stream the steps draw from (and advance); absent: the
   * configuration's random source is used, as a live connection does.
   */
  random: DrbgState | undefined;
}

/**
 * A requester that has sent nothing yet.
 * @param random a seeded stream's state() to carry in the data, for replayable steps
 */
export function initialRequesterData(
  binding: SecuredBinding = 'pci_doe',
  random?: DrbgState,
): RequesterData {
  return {
    binding,
    connection: { state: 'NOT_STARTED' },
    transcript: connectionTranscript(),
    chains: new Map(),
    digests: new Map(),
    measurements: undefined,
    pendingSummaries: [],
    sessions: new Map(),
    call: undefined,
    random,
  };
}

/** True once ALGORITHMS was received (NEGOTIATED or AUTHENTICATED). */
export function isNegotiated(
  c: RequesterState,
): c is Extract<RequesterState, { negotiated: Negotiated }> {
  return c.state === 'NEGOTIATED' || c.state === 'AUTHENTICATED';
}

/**
 * A deep copy of a requester state: what structuredClone gives for this plain data (an object
 * reached twice stays one object: a session's current keys are its data keys), a few times
 * faster (each step works on one). The bytes a state records and never writes again
 * (transcript messages, chains, digests, measurement values) are shared with the copy: only
 * the arrays and maps holding them change. Session secrets (wiped in place when a session
 * ends) and the call in flight are copied.
 */
export function copyRequesterData(d: RequesterData): RequesterData {
  return clonePlain(d, recordedBytes(d));
}

function recordedBytes(d: RequesterData): Set<object> {
  const s = new Set<object>();
  const add = (list: readonly Uint8Array[]) => {
    for (const x of list) s.add(x);
  };
  const t = d.transcript;
  add(t.a);
  add(t.b);
  add(t.c);
  add(t.m);
  if (t.d) s.add(t.d);
  for (const c of d.chains.values()) {
    add([c.buffer, c.hash, c.leafSpki]);
    add(c.certificates);
  }
  add([...d.digests.values()]);
  for (const m of d.measurements ?? []) s.add(m.kind === 'dmtf' ? m.value : m.measurement);
  for (const r of d.sessions.values()) {
    const st = r.transcript;
    add([st.messageA, st.messageD]);
    if (st.certChainHash) s.add(st.certChainHash);
    if (st.reqCertChainHash) s.add(st.reqCertChainHash);
    add(st.k);
    add(st.f);
    add(st.m);
  }
  return s;
}
