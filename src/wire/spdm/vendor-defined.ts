/**
 * VENDOR_DEFINED_REQUEST (0xFE) / VENDOR_DEFINED_RESPONSE (0x7E): DMTF DSP0274 1.0-1.3,
 * "VENDOR_DEFINED_REQUEST request and VENDOR_DEFINED_RESPONSE response messages".
 *
 * Layout (both): param1/param2 reserved (through 1.3); StandardID u16 (registry id);
 * Len u8; VendorID[Len]; ReqLength / RespLength u16; payload.
 *
 * PCI-SIG wrapper (PCIe Base 6.x "Secured SPDM vendor-defined messages", WIRE.md): StandardID
 * 0x0003, Len 2, VendorID 0x0001 (bytes 01 00), payload = ProtocolID u8 (0 IDE_KM, 1 TDISP) +
 * protocol message. Other PCI-SIG vendors (CXL uses VendorID 0x1E98 with the same StandardID)
 * are plain VDMs here.
 */
import { WireError } from '../errors.ts';
import type { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import {
  PCISIG_VENDOR_ID,
  SPDM_REGISTRY_ID_PCISIG,
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
} from './constants.ts';
import type { SpdmHeaderFields } from './messages.ts';

interface VendorDefinedFields extends SpdmHeaderFields {
  param1Reserved?: number;
  param2Reserved?: number;
  /** StandardID: the registry that assigned VendorID (SPDM_REGISTRY_ID_*). */
  standardId: number;
  /** VendorID[Len], in wire order (PCI-SIG 0x0001 is bytes 01 00). */
  vendorId: Uint8Array;
  /** VendorDefinedReqPayload / VendorDefinedRespPayload. */
  payload: Uint8Array;
}

export interface VendorDefinedRequest extends VendorDefinedFields {
  code: typeof SPDM_VENDOR_DEFINED_REQUEST;
}

export interface VendorDefinedResponse extends VendorDefinedFields {
  code: typeof SPDM_VENDOR_DEFINED_RESPONSE;
}

export type VendorDefined = VendorDefinedRequest | VendorDefinedResponse;

function vdmFamily<M extends VendorDefined>(
  name: string,
  code: M['code'],
  lengthField: string,
  payloadField: string,
): SpdmFamilyCodec<M> {
  return {
    name,
    encode(w, m) {
      w.u8(m.version, 'SPDMVersion').u8(code);
      w.u8(m.param1Reserved ?? 0, 'Param1').u8(m.param2Reserved ?? 0, 'Param2');
      w.u16(m.standardId, 'StandardID');
      w.u8(m.vendorId.length, 'Len').bytes(m.vendorId);
      w.u16(m.payload.length, lengthField).bytes(m.payload);
    },
    decode(r: Reader) {
      const version = r.u8('SPDMVersion');
      r.u8('RequestResponseCode');
      const param1Reserved = r.reservedU8('Param1');
      const param2Reserved = r.reservedU8('Param2');
      const standardId = r.u16('StandardID');
      const vendorId = r.bytes(r.u8('Len'), 'VendorID');
      const payload = r.bytes(r.u16(lengthField), payloadField);
      return {
        version,
        code,
        param1Reserved,
        param2Reserved,
        standardId,
        vendorId,
        payload,
      } as M;
    },
  };
}

export const vendorDefinedRequestCodec = vdmFamily<VendorDefinedRequest>(
  'VENDOR_DEFINED_REQUEST',
  SPDM_VENDOR_DEFINED_REQUEST,
  'ReqLength',
  'VendorDefinedReqPayload',
);
export const vendorDefinedResponseCodec = vdmFamily<VendorDefinedResponse>(
  'VENDOR_DEFINED_RESPONSE',
  SPDM_VENDOR_DEFINED_RESPONSE,
  'RespLength',
  'VendorDefinedRespPayload',
);

/** A PCI-SIG protocol message as carried in a VDM payload. */
export interface PciSigPayload {
  /** ProtocolID (PCI_PROTOCOL_ID_IDE_KM, PCI_PROTOCOL_ID_TDISP, ...). */
  protocolId: number;
  /** The protocol message (IDE_KM object, TDISP message), without the ProtocolID byte. */
  message: Uint8Array;
}

export interface PciSigVdmOptions {
  /** SPDMVersion byte of the connection. */
  version: number;
  /** Build a VENDOR_DEFINED_RESPONSE instead of a request. */
  response?: boolean;
}

/** The PCI-SIG VendorID as it appears on the wire (u16 LE). */
export const PCISIG_VENDOR_ID_BYTES = Uint8Array.of(
  PCISIG_VENDOR_ID & 0xff,
  PCISIG_VENDOR_ID >>> 8,
);

/**
 * The VDM message object wrapping a PCI-SIG protocol message.
 * @throws RangeError when the protocol id is not a byte or the message exceeds 65534 bytes.
 */
export function pciSigVdm(
  p: PciSigPayload,
  o: PciSigVdmOptions & { response: true },
): VendorDefinedResponse;
export function pciSigVdm(p: PciSigPayload, o: PciSigVdmOptions): VendorDefined;
export function pciSigVdm(p: PciSigPayload, o: PciSigVdmOptions): VendorDefined {
  checkPciSig(p);
  const payload = new Uint8Array(1 + p.message.length);
  payload[0] = p.protocolId;
  payload.set(p.message, 1);
  return {
    version: o.version,
    code: o.response ? SPDM_VENDOR_DEFINED_RESPONSE : SPDM_VENDOR_DEFINED_REQUEST,
    param1Reserved: undefined,
    param2Reserved: undefined,
    standardId: SPDM_REGISTRY_ID_PCISIG,
    vendorId: PCISIG_VENDOR_ID_BYTES.slice(),
    payload,
  };
}

function checkPciSig(p: PciSigPayload): void {
  if (!Number.isInteger(p.protocolId) || p.protocolId < 0 || p.protocolId > 0xff) {
    throw new RangeError(`ProtocolID: ${p.protocolId} does not fit in u8`);
  }
  if (p.message.length > 0xfffe) throw new RangeError('PCI-SIG message longer than 65534 bytes');
}

/**
 * The whole SPDM VENDOR_DEFINED_REQUEST (or _RESPONSE) carrying a PCI-SIG protocol message:
 * FE|7E 00 00 | 03 00 | 02 | 01 00 | u16 1+len | ProtocolID | message.
 * Written directly rather than through pciSigVdm: it is on every IDE_KM / TDISP exchange.
 * @throws RangeError as pciSigVdm.
 */
export function encodePciSigVdm(p: PciSigPayload, o: PciSigVdmOptions): Uint8Array {
  checkPciSig(p);
  const w = new Writer(12 + p.message.length);
  w.u8(o.version, 'SPDMVersion');
  w.u8(o.response ? SPDM_VENDOR_DEFINED_RESPONSE : SPDM_VENDOR_DEFINED_REQUEST).u16(0);
  w.u16(SPDM_REGISTRY_ID_PCISIG).u8(2).bytes(PCISIG_VENDOR_ID_BYTES);
  w.u16(1 + p.message.length)
    .u8(p.protocolId)
    .bytes(p.message);
  return w.finish();
}

/**
 * The PCI-SIG protocol message inside a VDM, or undefined when the VDM is not a PCI-SIG one
 * (StandardID 0x0003, Len 2, VendorID bytes 01 00).
 * @throws WireError when it is a PCI-SIG VDM whose payload lacks the ProtocolID byte.
 */
export function decodePciSigPayload(vdm: VendorDefined): PciSigPayload | undefined {
  const v = vdm.vendorId;
  if (
    vdm.standardId !== SPDM_REGISTRY_ID_PCISIG ||
    v.length !== 2 ||
    v[0] !== PCISIG_VENDOR_ID_BYTES[0] ||
    v[1] !== PCISIG_VENDOR_ID_BYTES[1]
  ) {
    return undefined;
  }
  if (vdm.payload.length === 0) {
    const name =
      vdm.code === SPDM_VENDOR_DEFINED_RESPONSE
        ? 'VENDOR_DEFINED_RESPONSE'
        : 'VENDOR_DEFINED_REQUEST';
    // ProtocolID sits after header(4), StandardID(2), Len(1), VendorID(2), length(2).
    throw new WireError('SPDM', name, 'ProtocolID', 11, 'truncated', 'PCI-SIG payload is empty');
  }
  return { protocolId: vdm.payload[0], message: vdm.payload.slice(1) };
}
