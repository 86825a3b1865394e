/**
 * The responder's connection state (DSP0274 1.3 section 9 "Connection state"; libspdm's
 * LIBSPDM_CONNECTION_STATE_*), as a discriminated union on `state`: each state holds only
 * what is known in it. VCA moves NOT_STARTED -> AFTER_VERSION -> AFTER_CAPABILITIES ->
 * NEGOTIATED; a successful CHALLENGE makes it AUTHENTICATED; GET_VERSION starts over.
 *
 * ResponderState is everything the responder remembers between two messages: the
 * connection state, the connection transcript and the open sessions, all plain data
 * (structuredClone-able). What it does not hold is the configuration (keys as KeyObject,
 * vendor handlers, the random source, the event sink): a world fork clones the state and
 * shares (or rebuilds) the configuration.
 */
import type { AlgorithmSuite } from '../../crypto/suite.ts';
import type { SecuredBinding } from '../../wire/secured.ts';
import type { AlgorithmSizes } from '../../wire/spdm/context.ts';
import type { SessionState } from '../session.ts';
import {
  type ConnectionTranscript,
  connectionTranscript,
  type SessionTranscript,
} from '../transcript.ts';

/** What the requester said about itself in GET_CAPABILITIES. */
export interface PeerCapabilities {
  flags: number;
  ctExponent: number;
  /** 1.2+ (0 before). */
  dataTransferSize: number;
  /** 1.2+ (0 before). */
  maxSpdmMsgSize: number;
}

/** The ALGORITHMS selection, as SPDM bits, and what follows from it. */
export interface NegotiatedAlgorithms {
  measurementSpec: number;
  otherParams: number;
  measurementHashAlgo: number;
  baseAsymAlgo: number;
  baseHashAlgo: number;
  dheNamedGroup: number;
  aeadCipherSuite: number;
  reqBaseAsymAlg: number;
  keySchedule: number;
  suite: AlgorithmSuite;
  sizes: AlgorithmSizes;
  /** The certificate chain buffer of each provisioned slot (RootHash uses the negotiated hash). */
  chains: (Uint8Array | undefined)[];
  /** Hash(chain buffer) per slot: DIGESTS values and the Hash(Cert) of session transcripts. */
  chainDigests: (Uint8Array | undefined)[];
}

export type ConnectionState =
  | { state: 'NOT_STARTED' }
  | { state: 'AFTER_VERSION' }
  | { state: 'AFTER_CAPABILITIES'; version: number; peer: PeerCapabilities }
  | {
      state: 'NEGOTIATED';
      version: number;
      peer: PeerCapabilities;
      algorithms: NegotiatedAlgorithms;
    }
  | {
      state: 'AUTHENTICATED';
      version: number;
      peer: PeerCapabilities;
      algorithms: NegotiatedAlgorithms;
    };

export type ConnectionStateName = ConnectionState['state'];

/** The states in which algorithms are known. */
export type Negotiated = Extract<ConnectionState, { algorithms: NegotiatedAlgorithms }>;

/** True once ALGORITHMS was sent (NEGOTIATED or AUTHENTICATED). */
export function isNegotiated(s: ConnectionState): s is Negotiated {
  return s.state === 'NEGOTIATED' || s.state === 'AUTHENTICATED';
}

/** The SPDMVersion the connection uses, once GET_CAPABILITIES fixed it. */
export function connectionVersion(s: ConnectionState): number | undefined {
  return 'version' in s ? s.version : undefined;
}

/** One open session as the responder tracks it. */
export interface ResponderSession {
  session: SessionState;
  transcript: SessionTranscript;
  /** The certificate slot that signed KEY_EXCHANGE_RSP (DHE sessions). */
  slotId?: number;
  /** Both sides set HANDSHAKE_IN_THE_CLEAR_CAP: FINISH / FINISH_RSP travel in the clear. */
  handshakeInTheClear: boolean;
  /** HeartbeatPeriod sent in KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP (s; 0 or absent: none). */
  heartbeatPeriod?: number;
  /** config.now() of the last message in the session (the heartbeat watchdog's start). */
  lastMessageAt?: number;
}

/** The responder engine's state between messages (plain data; see the file header). */
export interface ResponderState {
  /** The transport binding (decides the secured-record layout). */
  binding: SecuredBinding;
  connection: ConnectionState;
  transcript: ConnectionTranscript;
  /** Open sessions by session id. */
  sessions: Map<number, ResponderSession>;
  /** The last session KEY_EXCHANGE opened (HANDSHAKE_IN_THE_CLEAR FINISH goes to it). */
  latestSessionId: number | undefined;
}

/** A responder that has not seen GET_VERSION yet. */
export function initialResponderState(binding: SecuredBinding = 'pci_doe'): ResponderState {
  return {
    binding,
    connection: { state: 'NOT_STARTED' },
    transcript: connectionTranscript(),
    sessions: new Map(),
    latestSessionId: undefined,
  };
}
