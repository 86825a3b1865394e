/**
 * SPDM (DMTF DSP0274 1.0-1.3) messages: the public surface of wire/spdm.
 * `encodeSpdm` / `decodeSpdm` handle every message; the family files export the types.
 */

export type {
  Algorithms,
  AlgStructTable,
  NegotiateAlgorithms,
  SelectedAlgorithms,
} from './algorithms.ts';
export { algorithmName, algorithmSizes, selectedAlgorithms } from './algorithms.ts';
export type { Capabilities, GetCapabilities } from './capabilities.ts';
export { capFlagsToNames, capNamesToFlags } from './capabilities.ts';
export type { CertChain } from './cert-chain.ts';
export { decodeCertChain, encodeCertChain, splitDerCertificates } from './cert-chain.ts';
export type { Certificate, GetCertificate } from './certificate.ts';
export type { Challenge, ChallengeAuth } from './challenge.ts';
export { decodeSpdm, decodeSpdmHeader, encodeSpdm, type SpdmHeader } from './codec.ts';
export * from './constants.ts';
export type { AlgorithmSizes, SpdmCodecContext } from './context.ts';
export type { Digests, GetDigests } from './digests.ts';
export { slotsOfMask } from './digests.ts';
export type { EndSession, EndSessionAck } from './end-session.ts';
export type { ErrorResponse, ResponseNotReadyData } from './error.ts';
export type { Finish, FinishRsp } from './finish.ts';
export type { Heartbeat, HeartbeatAck } from './heartbeat.ts';
export type { KeyExchange, KeyExchangeRsp } from './key-exchange.ts';
export { sessionIdOf } from './key-exchange.ts';
export type { KeyUpdate, KeyUpdateAck } from './key-update.ts';
export type {
  DmtfMeasurementBlock,
  GetMeasurements,
  MeasurementBlock,
  Measurements,
  RawMeasurementBlock,
} from './measurements.ts';
export {
  decodeMeasurementRecord,
  encodeMeasurementRecord,
  signatureRequested,
} from './measurements.ts';
export type { SpdmMessage } from './messages.ts';
export type { OpaqueData, OpaqueElement, SecuredMessageData } from './opaque.ts';
export {
  buildSupportedVersionsOpaque,
  buildVersionSelectionOpaque,
  decodeOpaqueData,
  decodeSecuredMessageData,
  encodeOpaqueData,
  encodeSecuredMessageData,
  findSecuredMessageData,
  opaqueFormatFor,
} from './opaque.ts';
export type { PskExchange, PskExchangeRsp, PskFinish, PskFinishRsp } from './psk.ts';
export type { RespondIfReady } from './respond-if-ready.ts';
export type {
  PciSigPayload,
  VendorDefined,
  VendorDefinedRequest,
  VendorDefinedResponse,
} from './vendor-defined.ts';
export { decodePciSigPayload, encodePciSigVdm, pciSigVdm } from './vendor-defined.ts';
export type { GetVersion, Version, VersionEntry } from './version.ts';
export {
  formatVersionByte,
  formatVersionEntry,
  versionEntryFromU16,
  versionEntryToU16,
} from './version.ts';
