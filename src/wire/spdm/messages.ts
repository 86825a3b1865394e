/**
 * The union of every SPDM message teeio encodes and decodes, discriminated on `code`
 * (the SPDM RequestResponseCode, compared against the SPDM_* constants).
 * Each family lives in its own file; this file only gathers the types.
 */
import type { Algorithms, NegotiateAlgorithms } from './algorithms.ts';
import type { Capabilities, GetCapabilities } from './capabilities.ts';
import type { Certificate, GetCertificate } from './certificate.ts';
import type { Challenge, ChallengeAuth } from './challenge.ts';
import type { Digests, GetDigests } from './digests.ts';
import type { EndSession, EndSessionAck } from './end-session.ts';
import type { ErrorResponse } from './error.ts';
import type { Finish, FinishRsp } from './finish.ts';
import type { Heartbeat, HeartbeatAck } from './heartbeat.ts';
import type { KeyExchange, KeyExchangeRsp } from './key-exchange.ts';
import type { KeyUpdate, KeyUpdateAck } from './key-update.ts';
import type { GetMeasurements, Measurements } from './measurements.ts';
import type { PskExchange, PskExchangeRsp, PskFinish, PskFinishRsp } from './psk.ts';
import type { RespondIfReady } from './respond-if-ready.ts';
import type { VendorDefinedRequest, VendorDefinedResponse } from './vendor-defined.ts';
import type { GetVersion, Version } from './version.ts';

/** Fields every SPDM message has. `version` is the SPDMVersion byte (0x10..0x14). */
export interface SpdmHeaderFields {
  version: number;
}

// Families add their message types to this union (one line each).
export type SpdmMessage =
  | GetVersion
  | Version
  | GetCapabilities
  | Capabilities
  | NegotiateAlgorithms
  | Algorithms
  | GetDigests
  | Digests
  | GetCertificate
  | Certificate
  | Challenge
  | ChallengeAuth
  | GetMeasurements
  | Measurements
  | ErrorResponse
  | RespondIfReady
  | KeyExchange
  | KeyExchangeRsp
  | Finish
  | FinishRsp
  | PskExchange
  | PskExchangeRsp
  | PskFinish
  | PskFinishRsp
  | Heartbeat
  | HeartbeatAck
  | KeyUpdate
  | KeyUpdateAck
  | EndSession
  | EndSessionAck
  | VendorDefinedRequest
  | VendorDefinedResponse;
