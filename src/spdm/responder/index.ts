/** The SPDM responder engine. */
export { type ResponderSessionInfo, SpdmResponder } from './responder.ts';
export type {
  ConnectionState,
  ConnectionStateName,
  NegotiatedAlgorithms,
  PeerCapabilities,
} from './state.ts';
