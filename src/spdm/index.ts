/**
 * spdm/: the SPDM engines (DSP0274) and their secured sessions (DSP0277): configuration,
 * trace events, transcripts, sessions, the responder, the vendor-defined dispatch the
 * device layer plugs IDE_KM and TDISP into, and the session key log and offline capture
 * decoding.
 */

export {
  type CapturedMessage,
  type DecodedCapture,
  decodeCapture,
  type SecuredInfo,
} from './capture.ts';
export {
  type AlgorithmPreferences,
  commonVersion,
  DEFAULT_ALGORITHMS,
  DEFAULT_REQUESTER_CAPABILITIES,
  DEFAULT_RESPONDER_CAPABILITIES,
  type EndpointConfig,
  type MeasurementBlockConfig,
  type PskEntry,
  pickPreferred,
  preferenceMask,
  type RequesterConfig,
  type ResponderConfig,
  requesterConfig,
  responderConfig,
  SECURED_MESSAGE_VERSION_11,
  type SlotIdentity,
  sampleMeasurements,
} from './config.ts';
export type {
  RecordRejectReason,
  SpdmEvent,
  SpdmEventSink,
  SpdmRole,
  SpdmVerdict,
  VerifyTarget,
} from './events.ts';
export {
  formatKeylogLine,
  KeylogCollector,
  type KeylogEntry,
  KeylogError,
  parseKeylog,
  type SessionSecrets,
  type SessionSecretsSink,
} from './keylog.ts';
export {
  type ConnectResult,
  initialRequesterData,
  type MeasurementsRequest,
  type MeasurementsResult,
  type PeerChain,
  type RequesterCall,
  type RequesterData,
  type RequesterDone,
  type RequesterOptions,
  type RequesterSession,
  type RequesterStepResult,
  requesterAbort,
  requesterReceive,
  requesterStart,
  SpdmErrorResponse,
  SpdmRequester,
  SpdmUsageError,
  SpdmVerifyError,
  type StartSessionOptions,
  VerifiedChainCache,
} from './requester/index.ts';
export {
  type ConnectionState,
  initialResponderState,
  type ResponderSessionInfo,
  type ResponderState,
  type ResponderStepResult,
  responderStep,
  SpdmResponder,
} from './responder/index.ts';
export {
  type ProtectOptions,
  recordSessionId,
  type SequenceCounters,
  type SessionDirection,
  SessionError,
  type SessionKind,
  type SessionOptions,
  type SessionPhase,
  type SessionState,
  type UnprotectResult,
} from './session.ts';
export type { ConnectionTranscript, SessionTranscript } from './transcript.ts';
export {
  type VendorHandler,
  type VendorHandlerResult,
  type VendorProtocolKey,
  VendorRegistry,
  type VendorRequestContext,
} from './vendor.ts';
