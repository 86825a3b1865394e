/**
 * teeio's wire layer: pure codecs for every message of the system. Protocol families are
 * namespaced (spdm, idekm, tdisp); the transport-level codecs are exported flat.
 */
export * as cxlIdeKm from './cxl-idekm/index.ts';
export * as cxlTsp from './cxl-tsp/index.ts';
export * from './doe.ts';
export { isWireError, WireError, type WireErrorKind } from './errors.ts';
export { bytesEqual, concat, fromHex, toHex } from './hex.ts';
export * as idekm from './idekm/index.ts';
export * from './mctp.ts';
export * from './pcap.ts';
export * as pldm from './pldm/index.ts';
export { Reader } from './reader.ts';
export * from './secured.ts';
export * from './socket.ts';
export * as spdm from './spdm/index.ts';
export * as tdisp from './tdisp/index.ts';
export { Writer } from './writer.ts';
