/** transport/: moving SPDM messages between a requester and a responder. */

export { type Clock, realClock, VirtualClock } from '../wire/clock.ts';
export { decodeTransportPayload, encodeTransportPayload, socketTransportType } from './binding.ts';
export { doeDiscovery } from './doe-discovery.ts';
export {
  type ConfigAccessor,
  createDoeMailboxTransport,
  type DoeDriverPhase,
  type DoeDriverState,
  type DoeMailboxOptions,
  type DoeMailboxTransport,
  findDoeCapability,
} from './doe-mailbox.ts';
export { createInProcessPair, type InProcessOptions } from './in-process.ts';
export {
  DOE_SPDM_PROTOCOLS,
  type DoeDiscoveryResponder,
  doeDiscoveryResponder,
  payloadResponder,
} from './responder.ts';
export {
  connectSpdmEmu,
  type SpdmEmuClient,
  type SpdmEmuClientOptions,
} from './spdm-emu-client.ts';
export {
  type SpdmEmuConnection,
  type SpdmEmuServer,
  type SpdmEmuServerOptions,
  serveSpdmEmu,
} from './spdm-emu-server.ts';
export {
  type Binding,
  type RequesterTransport,
  type ResponderHandler,
  TransportError,
  type TransportErrorCode,
  type TransportMessage,
  type WireTap,
} from './types.ts';
