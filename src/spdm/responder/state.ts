/**
 * The responder's connection state (DSP0274 1.3 section 9 "Connection state"; libspdm's
 * LIBSPDM_CONNECTION_STATE_*), as a discriminated union on `state`: each state holds only
 * what is known in it. VCA moves NOT_STARTED -> AFTER_VERSION -> AFTER_CAPABILITIES ->
 * NEGOTIATED; a successful CHALLENGE makes it AUTHENTICATED; GET_VERSION starts over.
 */
import type { AlgorithmSuite } from '../../crypto/suite.ts';
import type { AlgorithmSizes } from '../../wire/spdm/context.ts';

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
