/** The SPDM responder engine. */
export { type ResponderSessionInfo, SpdmResponder } from './responder.ts';
export type {
  ConnectionState,
  ConnectionStateName,
  NegotiatedAlgorithms,
  PeerCapabilities,
  ResponderSession,
  ResponderState,
} from './state.ts';
export { initialResponderState } from './state.ts';
export { type ResponderStepResult, responderStep } from './step.ts';
