/**
 * Bytes 1..6 shared by the stream-addressed CXL_IDE_KM objects (CXL 3.x 11.4: KEY_PROG,
 * KP_ACK, K_SET_GO, K_SET_STOP, K_GOSTOP_ACK, GETKEY, GETKEY_ACK), laid out as PCIe IDE_KM's:
 * Reserved u16 | Stream ID u8 | byte 4 (Status in KP_ACK, reserved otherwise) | Key
 * sub-stream u8 | PortIndex u8.
 *
 * The key sub-stream byte: bit 1 direction (Rx 0 / Tx 1); bit 3 the IV type in KEY_PROG
 * (default IV) and the mode in K_SET_GO (Containment), reserved elsewhere; bits 7:4 the
 * sub-stream (1000b CXL.cachemem); bits 0 and 2 reserved. Every byte value decodes.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import {
  CXL_IDE_KM_KEY_DIRECTION_MASK,
  CXL_IDE_KM_KEY_DIRECTION_TX,
  CXL_IDE_KM_KEY_IV_MASK,
  CXL_IDE_KM_KEY_RESERVED_MASK,
  CXL_IDE_KM_KEY_SUB_STREAM_MASK,
  CXL_IDE_KM_OBJECT_ID_KP_ACK,
} from './constants.ts';

export interface CxlKeySubStream {
  /** Bit 1: 0 receive, 1 transmit. */
  direction: 'RX' | 'TX';
  /**
   * Bit 3: KEY_PROG 1 = use the default IV (CXL_IDE_KM_KEY_IV_DEFAULT); K_SET_GO 1 =
   * Containment mode, 0 = Skid mode (CXL_IDE_KM_KEY_MODE_*); reserved in the other objects.
   */
  bit3: 0 | 1;
  /** Bits 7:4 (8 = CXL.cachemem); other values are kept as they came. */
  subStream: number;
  /** Bits 0 and 2 as they sit in the byte (mask 0x05); absent when zero. */
  reserved?: number;
}

export interface CxlStreamFields {
  /** Bytes 1-2, reserved. */
  reserved?: number;
  streamId: number;
  keySubStream: CxlKeySubStream;
  portIndex: number;
}

/** Size of the objects that are the stream fields alone: object id + 6 bytes. */
export const CXL_IDE_KM_STREAM_MESSAGE_SIZE = 7;

/** The sub-stream number of CXL.cachemem (1000b). */
export const CXL_SUB_STREAM_CACHEMEM = 8;

export function decodeCxlKeySubStream(b: number): CxlKeySubStream {
  const k: CxlKeySubStream = {
    direction: b & CXL_IDE_KM_KEY_DIRECTION_MASK ? 'TX' : 'RX',
    bit3: b & CXL_IDE_KM_KEY_IV_MASK ? 1 : 0,
    subStream: (b & CXL_IDE_KM_KEY_SUB_STREAM_MASK) >>> 4,
  };
  const reserved = b & CXL_IDE_KM_KEY_RESERVED_MASK;
  if (reserved) k.reserved = reserved;
  return k;
}

/** @throws RangeError on a field that does not fit. */
export function encodeCxlKeySubStream(k: CxlKeySubStream): number {
  if (k.direction !== 'RX' && k.direction !== 'TX') {
    throw new RangeError(`direction: ${String(k.direction)} is not RX or TX`);
  }
  if (k.bit3 !== 0 && k.bit3 !== 1) throw new RangeError(`bit3: ${k.bit3} is not 0 or 1`);
  if (!Number.isInteger(k.subStream) || k.subStream < 0 || k.subStream > 15) {
    throw new RangeError(`subStream: ${k.subStream} does not fit in 4 bits`);
  }
  const reserved = k.reserved ?? 0;
  if (!Number.isInteger(reserved) || (reserved & ~CXL_IDE_KM_KEY_RESERVED_MASK) !== 0) {
    throw new RangeError(`keySubStream.reserved: 0x${reserved.toString(16)} is outside bits 0, 2`);
  }
  return (
    (k.direction === 'TX' ? CXL_IDE_KM_KEY_DIRECTION_TX : 0) |
    (k.bit3 ? CXL_IDE_KM_KEY_IV_MASK : 0) |
    (k.subStream << 4) |
    reserved
  );
}

/** Reads bytes 1..6; returns the object and byte 4 (KP_ACK's Status, reserved otherwise). */
export function readCxlStreamFields<M extends CxlStreamFields & { objectId: number }>(
  r: Reader,
  objectId: M['objectId'],
): [M, number] {
  const reserved = r.reservedU16('Reserved');
  const streamId = r.u8('StreamID');
  const byte4 = r.u8(objectId === CXL_IDE_KM_OBJECT_ID_KP_ACK ? 'Status' : 'Reserved');
  const keySubStream = decodeCxlKeySubStream(r.u8('KeySubStream'));
  const f = { objectId, streamId, keySubStream, portIndex: r.u8('PortIndex') } as M;
  if (reserved !== undefined) f.reserved = reserved;
  return [f, byte4];
}

export function writeCxlStreamFields(w: Writer, m: CxlStreamFields, byte4: number): void {
  w.u16(m.reserved ?? 0, 'Reserved');
  w.u8(m.streamId, 'StreamID');
  w.u8(byte4, 'byte 4');
  w.u8(encodeCxlKeySubStream(m.keySubStream));
  w.u8(m.portIndex, 'PortIndex');
}

/** Reads n u32 dwords (key, IV) in wire order. */
export function readDwords(r: Reader, n: number, field: string): number[] {
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = r.u32(field);
  return out;
}

/** @throws RangeError when `v` is not n dwords. */
export function writeDwords(w: Writer, v: readonly number[], n: number, field: string): void {
  if (v.length !== n) throw new RangeError(`${field}: expected ${n} dwords, got ${v.length}`);
  for (const d of v) w.u32(d, field);
}
