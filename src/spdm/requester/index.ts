/** spdm/requester: the SPDM requester engine (DSP0274 requests, DSP0277 sessions). */
export { type CachedChain, VerifiedChainCache } from './chain-cache.ts';
export type { ChallengeResult } from './challenge.ts';
export type {
  AlgorithmSelection,
  Negotiated,
  PeerCapabilities,
  PeerChain,
  RequesterOptions,
  RequesterSession,
  RequesterState,
} from './context.ts';
export type { DigestsResult } from './digests.ts';
export { SpdmErrorResponse, SpdmUsageError, SpdmVerifyError } from './errors.ts';
export type { KeyUpdateOperation } from './key-update.ts';
export type { MeasurementsRequest, MeasurementsResult } from './measurements.ts';
export {
  type ConnectResult,
  SpdmRequester,
  type StartSessionOptions,
  type SummaryHashType,
} from './requester.ts';
export { measurementSummaryHash } from './summary.ts';
export type { VendorDefinedMessage } from './vendor-defined.ts';
export type { VersionResult } from './version.ts';
