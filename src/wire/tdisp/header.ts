/**
 * The 16-byte TDISP message header (PCIe Base 6.x 11.3, "TDISP Message Header"):
 * TDISPVersion u8 | MessageType u8 | Reserved u16 | InterfaceID (FunctionID u32 +
 * Reserved u64). Every TDISP message starts with it; the family codecs only read and write
 * what follows.
 */
import { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { TdispFamilyCodec } from './codec.ts';
import {
  PCI_TDISP_FUNCTION_ID_REQUESTER_ID_MASK,
  PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_MASK,
  PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_OFFSET,
  PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_VALID,
  PCI_TDISP_FUNCTION_ID_RESERVED_MASK,
} from './constants.ts';
import type { TdispMessage } from './messages.ts';

/** InterfaceID: FunctionID (u32) + reserved u64. */
export interface InterfaceId {
  /** FunctionID bits 15:0: the TDI's Requester ID (bus/device/function). */
  requesterId: number;
  /** FunctionID bits 23:16: the Requester Segment. */
  segment: number;
  /** FunctionID bit 24: Requester Segment Valid. */
  segmentValid: boolean;
  /** FunctionID bits 31:25 as they sit in the u32 (mask 0xfe000000); absent when zero. */
  functionIdReserved?: number;
  /** The reserved u64 after FunctionID; absent when zero. */
  reserved?: bigint;
}

/** Fields of the 16-byte header that every TDISP message carries. */
export interface TdispHeader {
  /** TDISPVersion byte (0x10 for TDISP 1.0), kept as sent. */
  version: number;
  /** MessageType (PCI_TDISP_*). */
  code: number;
  /** Bytes 2-3, reserved. */
  reserved?: number;
  interfaceId: InterfaceId;
}

/** A TDISP message type: the header with MessageType `C` and body fields `B`. */
export type TdispMsg<C extends number, B = unknown> = TdispHeader & { code: C } & B;

/** Splits FunctionID (every u32 decodes). */
export function decodeFunctionId(
  v: number,
): Pick<InterfaceId, 'requesterId' | 'segment' | 'segmentValid' | 'functionIdReserved'> {
  const f: Pick<InterfaceId, 'requesterId' | 'segment' | 'segmentValid' | 'functionIdReserved'> = {
    requesterId: v & PCI_TDISP_FUNCTION_ID_REQUESTER_ID_MASK,
    segment:
      (v & PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_MASK) >>>
      PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_OFFSET,
    segmentValid: (v & PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_VALID) !== 0,
  };
  const reserved = (v & PCI_TDISP_FUNCTION_ID_RESERVED_MASK) >>> 0;
  if (reserved) f.functionIdReserved = reserved;
  return f;
}

/** Builds FunctionID. @throws RangeError when a field does not fit. */
export function encodeFunctionId(id: InterfaceId): number {
  const check = (v: number, max: number, field: string) => {
    if (!Number.isInteger(v) || v < 0 || v > max)
      throw new RangeError(`${field}: ${v} out of range`);
  };
  check(id.requesterId, 0xffff, 'requesterId');
  check(id.segment, 0xff, 'segment');
  const reserved = id.functionIdReserved ?? 0;
  if (!Number.isInteger(reserved) || (reserved & ~PCI_TDISP_FUNCTION_ID_RESERVED_MASK) !== 0) {
    throw new RangeError(`functionIdReserved: 0x${reserved.toString(16)} is outside bits 31:25`);
  }
  return (
    (id.requesterId |
      (id.segment << PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_OFFSET) |
      (id.segmentValid ? PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_VALID : 0) |
      reserved) >>>
    0
  );
}

/** Reads the 16-byte header; reserved fields are kept when non-zero. */
export function readTdispHeader(r: Reader): TdispHeader {
  const version = r.u8('TDISPVersion');
  const code = r.u8('MessageType');
  const reserved = r.reservedU16('Reserved');
  const interfaceId: InterfaceId = decodeFunctionId(r.u32('InterfaceID.FunctionID'));
  const idReserved = r.u64('InterfaceID.Reserved');
  if (idReserved !== 0n) interfaceId.reserved = idReserved;
  const h: TdispHeader = { version, code, interfaceId };
  if (reserved !== undefined) h.reserved = reserved;
  return h;
}

/** Writes the 16-byte header. @throws RangeError when a field does not fit. */
export function writeTdispHeader(w: Writer, h: TdispHeader): void {
  w.u8(h.version, 'TDISPVersion')
    .u8(h.code, 'MessageType')
    .u16(h.reserved ?? 0, 'Reserved')
    .u32(encodeFunctionId(h.interfaceId), 'FunctionID')
    .u64(h.interfaceId.reserved ?? 0n, 'InterfaceID.Reserved');
}

/**
 * Decodes only the 16-byte header, whatever the MessageType (for dispatch and for
 * answering unknown or malformed requests with TDISP_ERROR). Bytes after it are ignored.
 * @throws WireError 'truncated' on fewer than 16 bytes.
 */
export function decodeTdispHeader(bytes: Uint8Array): TdispHeader {
  return readTdispHeader(new Reader(bytes, 'TDISP', 'header'));
}

/**
 * Adds the body fields to the decoded header object: one object per message, no copy
 * (an object spread with extra fields costs about a microsecond in V8).
 */
export function withBody<M extends TdispMessage>(
  h: TdispHeader,
  body: Omit<M, keyof TdispHeader>,
): M {
  return Object.assign(h, body) as unknown as M;
}

/** The codec of a message that is the header alone (most responses, some requests). */
export function headerOnlyCodec<M extends TdispMessage>(name: string): TdispFamilyCodec<M> {
  return {
    name,
    decode: (_r, h) => h as M,
    encode: () => {},
  };
}
