/**
 * PCI Data Object Exchange (DOE) data objects and the DOE Discovery protocol.
 * PCIe Base Specification 6.x section 6.30.1 (Data Objects) and 6.30.1.1 (DOE Discovery);
 * layout summarised in shared/reference/WIRE.md "PCI DOE data object".
 *
 * Header (2 dwords, little-endian): Vendor ID u16 | Data Object Type u8 | reserved u8 |
 * Length u32 (bits 17:0, in dwords including the header; 0 means 2^18; bits 31:18 reserved).
 * The body is zero-padded to a dword multiple.
 *
 * Padding: the DOE layer cannot know the length of what it carries, so `decodeDoeObject`
 * returns the payload WITH its pad bytes. A secured record (type 2) carries its own length
 * (see secured.ts `doeSecuredRecordBytes`); a plain SPDM message (type 1) does not, so up to
 * 3 zero bytes may follow it and the SPDM layer trims them using the decoded message length
 * (see `doeSpdmPayload` / `doeMaxPad`). The captures show exactly this: a 15-byte
 * VENDOR_DEFINED_REQUEST travels as a 16-byte DOE body.
 */
import { WireError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export const PCI_DOE_VENDOR_ID_PCISIG = 0x0001;
export const PCI_DOE_TYPE_DISCOVERY = 0;
export const PCI_DOE_TYPE_SPDM = 1;
export const PCI_DOE_TYPE_SECURED_SPDM = 2;
/** Largest object in dwords (header included); encoded as Length 0. */
export const PCI_DOE_MAX_LENGTH_DW = 2 ** 18;
export const PCI_DOE_HEADER_SIZE = 8;
/** Largest payload one object can carry, in bytes. */
export const PCI_DOE_MAX_PAYLOAD = (PCI_DOE_MAX_LENGTH_DW - 2) * 4;

const LENGTH_MASK = PCI_DOE_MAX_LENGTH_DW - 1; // bits 17:0

export interface DoeObject {
  vendorId: number;
  type: number;
  /** The body; after decode it includes the zero padding to a dword multiple. */
  payload: Uint8Array;
  /** Header byte 3 (reserved), kept for byte-exact round trips; undefined when zero. */
  reserved?: number;
  /** Length dword bits 31:18 (reserved), shifted down; undefined when zero. */
  lengthReserved?: number;
}

/**
 * Encodes a data object, zero-padding the payload to a dword multiple.
 * @throws RangeError when a field does not fit or the object exceeds 2^18 dwords.
 */
export function encodeDoeObject(m: DoeObject): Uint8Array {
  const padded = Math.ceil(m.payload.length / 4) * 4;
  const lengthDw = 2 + padded / 4;
  if (lengthDw > PCI_DOE_MAX_LENGTH_DW) {
    throw new RangeError(`DOE payload of ${m.payload.length} bytes exceeds 2^18 dwords`);
  }
  const hi = m.lengthReserved ?? 0;
  if (!Number.isInteger(hi) || hi < 0 || hi >= 2 ** 14) {
    throw new RangeError(`DOE lengthReserved: ${hi} does not fit in 14 bits`);
  }
  const w = new Writer(PCI_DOE_HEADER_SIZE + padded);
  w.u16(m.vendorId, 'VendorID');
  w.u8(m.type, 'DataObjectType');
  w.u8(m.reserved ?? 0, 'Reserved');
  // 2^18 dwords wraps to 0 in the 18-bit field (PCIe 6.30.1).
  w.u32(((hi * PCI_DOE_MAX_LENGTH_DW) >>> 0) + (lengthDw & LENGTH_MASK), 'Length');
  w.bytes(m.payload);
  w.zeros(padded - m.payload.length);
  return w.finish();
}

/**
 * Decodes one whole data object. The payload keeps any pad bytes (see file comment).
 * @throws WireError 'truncated' when shorter than the header, 'bad-field' when the Length
 * field is below 2 dwords or does not equal the object size.
 */
export function decodeDoeObject(bytes: Uint8Array): DoeObject {
  const r = new Reader(bytes, 'DOE', 'data object');
  const vendorId = r.u16('VendorID');
  const type = r.u8('DataObjectType');
  const reserved = r.reservedU8('Reserved');
  const dw1 = r.u32('Length');
  const field = dw1 & LENGTH_MASK;
  const lengthDw = field === 0 ? PCI_DOE_MAX_LENGTH_DW : field;
  if (lengthDw < 2) {
    throw r.error('Length', 'bad-field', `${lengthDw} dword(s) is shorter than the header`, 4);
  }
  if (lengthDw * 4 !== bytes.length) {
    throw r.error(
      'Length',
      'bad-field',
      `${lengthDw} dword(s) = ${lengthDw * 4} bytes but the object is ${bytes.length}`,
      4,
    );
  }
  const lengthReserved = Math.floor(dw1 / PCI_DOE_MAX_LENGTH_DW);
  const payload = r.rest('Payload');
  const m: DoeObject = { vendorId, type, payload };
  if (reserved !== undefined) m.reserved = reserved;
  if (lengthReserved !== 0) m.lengthReserved = lengthReserved;
  return m;
}

/**
 * The SPDM message of a type-1 object: its payload, which may end in up to 3 zero pad bytes
 * (the DOE header counts dwords). Trim with the decoded SPDM message length, or try the
 * candidates `doeMaxPad(payload)` allows.
 * @throws WireError 'bad-field' when the object is not PCI-SIG / SPDM.
 */
export function doeSpdmPayload(obj: DoeObject): Uint8Array {
  if (obj.vendorId !== PCI_DOE_VENDOR_ID_PCISIG || obj.type !== PCI_DOE_TYPE_SPDM) {
    throw new WireError(
      'DOE',
      'data object',
      'DataObjectType',
      2,
      'bad-field',
      `vendor 0x${obj.vendorId.toString(16)} type ${obj.type} is not PCI-SIG SPDM`,
    );
  }
  return obj.payload;
}

/** How many trailing bytes of a padded DOE payload may be padding: trailing zeros, at most 3. */
export function doeMaxPad(payload: Uint8Array): number {
  let n = 0;
  while (n < 3 && n < payload.length && payload[payload.length - 1 - n] === 0) n++;
  return n;
}

// ---------------------------------------------------------------------------
// DOE Discovery (PCIe 6.30.1.1): one dword each way after the header.

export interface DoeDiscoveryRequest {
  /** Index of the entry asked for (byte 0). */
  index: number;
  /** DOE Discovery version the requester supports (byte 1; 0 before DOE 1.1). */
  version: number;
  /** Bytes 2-3, reserved; undefined when zero. */
  reserved?: number;
}

export interface DoeDiscoveryResponse {
  vendorId: number;
  dataObjectType: number;
  /** Next index to ask for; 0 = this was the last entry. */
  nextIndex: number;
}

/** The 4-byte Discovery request body (the DOE object payload). @throws RangeError */
export function encodeDoeDiscoveryRequest(m: DoeDiscoveryRequest): Uint8Array {
  return new Writer(4)
    .u8(m.index, 'Index')
    .u8(m.version, 'Version')
    .u16(m.reserved ?? 0, 'Reserved')
    .finish();
}

/** @throws WireError 'truncated' / 'trailing' unless exactly 4 bytes. */
export function decodeDoeDiscoveryRequest(payload: Uint8Array): DoeDiscoveryRequest {
  const r = new Reader(payload, 'DOE', 'DISCOVERY request', PCI_DOE_HEADER_SIZE);
  const m: DoeDiscoveryRequest = { index: r.u8('Index'), version: r.u8('Version') };
  const reserved = r.reservedU16('Reserved');
  if (reserved !== undefined) m.reserved = reserved;
  r.end();
  return m;
}

/** The 4-byte Discovery response body (the DOE object payload). @throws RangeError */
export function encodeDoeDiscoveryResponse(m: DoeDiscoveryResponse): Uint8Array {
  return new Writer(4)
    .u16(m.vendorId, 'VendorID')
    .u8(m.dataObjectType, 'DataObjectType')
    .u8(m.nextIndex, 'NextIndex')
    .finish();
}

/** @throws WireError 'truncated' / 'trailing' unless exactly 4 bytes. */
export function decodeDoeDiscoveryResponse(payload: Uint8Array): DoeDiscoveryResponse {
  const r = new Reader(payload, 'DOE', 'DISCOVERY response', PCI_DOE_HEADER_SIZE);
  const m: DoeDiscoveryResponse = {
    vendorId: r.u16('VendorID'),
    dataObjectType: r.u8('DataObjectType'),
    nextIndex: r.u8('NextIndex'),
  };
  r.end();
  return m;
}

/** True for a PCI-SIG Discovery object (the transport answers these itself). */
export function isDoeDiscovery(obj: DoeObject): boolean {
  return obj.vendorId === PCI_DOE_VENDOR_ID_PCISIG && obj.type === PCI_DOE_TYPE_DISCOVERY;
}
