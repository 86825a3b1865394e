/** spdm/requester: the SPDM requester engine (DSP0274 requests, DSP0277 sessions). */
export type { ConnectResult, RequesterCall, RequesterDone, RequesterResults } from './calls.ts';
export { type CachedChain, VerifiedChainCache } from './chain-cache.ts';
export type { ChallengeResult } from './challenge.ts';
export type { RequesterOptions } from './context.ts';
export type { DigestsResult } from './digests.ts';
export { SpdmErrorResponse, SpdmUsageError, SpdmVerifyError } from './errors.ts';
export type { KeyUpdateOperation } from './key-update.ts';
export type { MeasurementsRequest, MeasurementsResult } from './measurements.ts';
export {
  type PeerChain,
  SpdmRequester,
  type StartSessionOptions,
  type SummaryHashType,
} from './requester.ts';
export type { RequesterSession } from './session-handle.ts';
export {
  type AlgorithmSelection,
  type ChainRecord,
  initialRequesterData,
  type Negotiated,
  type PeerCapabilities,
  type RequesterData,
  type RequesterState,
  type SessionRecord,
} from './state.ts';
export {
  type RequesterStepResult,
  requesterAbort,
  requesterForgetSessions,
  requesterReceive,
  requesterStart,
} from './step.ts';
export { measurementSummaryHash } from './summary.ts';
export type { VendorDefinedMessage } from './vendor-defined.ts';
export type { VersionResult } from './version.ts';
