/**
 * Bytes 1..6 shared by the stream-addressed IDE_KM objects (PCIe Base 6.x 6.33.3: KEY_PROG,
 * KP_ACK, K_SET_GO, K_SET_STOP, K_GOSTOP_ACK): Reserved u16 | Stream ID u8 | byte 4
 * (Status in KP_ACK, reserved otherwise) | KeySet / direction / sub-stream u8 | PortIndex u8.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import {
  PCI_IDE_KM_KEY_DIRECTION_MASK,
  PCI_IDE_KM_KEY_DIRECTION_TX,
  PCI_IDE_KM_KEY_RESERVED_MASK,
  PCI_IDE_KM_KEY_SET_MASK,
  PCI_IDE_KM_KEY_SUB_STREAM_MASK,
  PCI_IDE_KM_OBJECT_ID_KP_ACK,
} from './constants.ts';

/** The KeySet / direction / sub-stream byte of KEY_PROG, KP_ACK and K_SET_*. */
export interface KeySubStream {
  /** Bit 0: key set K0 or K1. */
  keySet: 0 | 1;
  /** Bit 1: 0 receive, 1 transmit. */
  direction: 'RX' | 'TX';
  /** Bits 7:4: 0 PR, 1 NPR, 2 CPL (IDE_SUB_STREAM); other values are kept as they came. */
  subStream: number;
  /** Bits 3:2 as they sit in the byte (mask 0x0c); absent when zero. */
  reserved?: number;
}

/** Fields shared by the stream-addressed objects (bytes 1..6). */
export interface StreamFields {
  /** Bytes 1-2, reserved. */
  reserved?: number;
  streamId: number;
  keySubStream: KeySubStream;
  portIndex: number;
}

/** Size of K_SET_GO / K_SET_STOP / K_GOSTOP_ACK / KP_ACK: object id + 6 bytes. */
export const IDE_KM_STREAM_MESSAGE_SIZE = 7;

/** Splits the KeySet / direction / sub-stream byte (never throws: every byte value decodes). */
export function decodeKeySubStream(b: number): KeySubStream {
  const k: KeySubStream = {
    keySet: (b & PCI_IDE_KM_KEY_SET_MASK) as 0 | 1,
    direction: b & PCI_IDE_KM_KEY_DIRECTION_MASK ? 'TX' : 'RX',
    subStream: (b & PCI_IDE_KM_KEY_SUB_STREAM_MASK) >>> 4,
  };
  const reserved = b & PCI_IDE_KM_KEY_RESERVED_MASK;
  if (reserved) k.reserved = reserved;
  return k;
}

/** Builds the KeySet / direction / sub-stream byte. @throws RangeError on a field that does not fit. */
export function encodeKeySubStream(k: KeySubStream): number {
  if (k.keySet !== 0 && k.keySet !== 1) throw new RangeError(`keySet: ${k.keySet} is not 0 or 1`);
  if (k.direction !== 'RX' && k.direction !== 'TX') {
    throw new RangeError(`direction: ${String(k.direction)} is not RX or TX`);
  }
  if (!Number.isInteger(k.subStream) || k.subStream < 0 || k.subStream > 15) {
    throw new RangeError(`subStream: ${k.subStream} does not fit in 4 bits`);
  }
  const reserved = k.reserved ?? 0;
  if (!Number.isInteger(reserved) || (reserved & ~PCI_IDE_KM_KEY_RESERVED_MASK) !== 0) {
    throw new RangeError(`keySubStream.reserved: 0x${reserved.toString(16)} is outside bits 3:2`);
  }
  return (
    k.keySet |
    (k.direction === 'TX' ? PCI_IDE_KM_KEY_DIRECTION_TX : 0) |
    (k.subStream << 4) |
    reserved
  );
}

/**
 * Reads bytes 1..6 of a stream-addressed object into a new message object; returns it with
 * byte 4 (Status for KP_ACK, reserved otherwise) for the caller to place.
 */
export function readStreamFields<M extends StreamFields & { objectId: number }>(
  r: Reader,
  objectId: M['objectId'],
): [M, number] {
  const reserved = r.reservedU16('Reserved');
  const streamId = r.u8('StreamID');
  const byte4 = r.u8(objectId === PCI_IDE_KM_OBJECT_ID_KP_ACK ? 'Status' : 'Reserved');
  const keySubStream = decodeKeySubStream(r.u8('KeySet/Direction/SubStream'));
  const f = { objectId, streamId, keySubStream, portIndex: r.u8('PortIndex') } as M;
  if (reserved !== undefined) f.reserved = reserved;
  return [f, byte4];
}

/** Writes bytes 1..6; `byte4` is KP_ACK's Status or the reserved byte. */
export function writeStreamFields(w: Writer, m: StreamFields, byte4: number): void {
  w.u16(m.reserved ?? 0, 'Reserved');
  w.u8(m.streamId, 'StreamID');
  w.u8(byte4, 'byte 4');
  w.u8(encodeKeySubStream(m.keySubStream));
  w.u8(m.portIndex, 'PortIndex');
}
