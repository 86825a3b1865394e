/**
 * IDE_KM messages, PCIe Base 6.x section 6.33.3 (IDE Key Management): QUERY, QUERY_RESP,
 * KEY_PROG, KP_ACK, K_SET_GO, K_SET_STOP, K_GOSTOP_ACK.
 *
 * The bytes handled here are the IDE_KM message that follows the ProtocolID byte of the
 * PCI-SIG vendor-defined wrapper (WIRE.md "PCI-SIG vendor-defined wrapper"); the first
 * byte is the Object ID, which is also the discriminant of `IdeKmMessage`.
 */
import { WireError } from '../errors.ts';
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import {
  ideKmObjectName,
  PCI_IDE_KM_IFV_DWORDS,
  PCI_IDE_KM_KEY_DIRECTION_MASK,
  PCI_IDE_KM_KEY_DIRECTION_TX,
  PCI_IDE_KM_KEY_DWORDS,
  PCI_IDE_KM_KEY_RESERVED_MASK,
  PCI_IDE_KM_KEY_SET_MASK,
  PCI_IDE_KM_KEY_SUB_STREAM_MASK,
  PCI_IDE_KM_OBJECT_ID_K_SET_GO,
  PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
  PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
  PCI_IDE_KM_OBJECT_ID_KEY_PROG,
  PCI_IDE_KM_OBJECT_ID_KP_ACK,
  PCI_IDE_KM_OBJECT_ID_QUERY,
  PCI_IDE_KM_OBJECT_ID_QUERY_RESP,
} from './constants.ts';

const PROTOCOL = 'IDE_KM';

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

export interface IdeKmQuery {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_QUERY;
  reserved?: number;
  portIndex: number;
}

export interface IdeKmQueryResp {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_QUERY_RESP;
  reserved?: number;
  portIndex: number;
  /** Device (7:3) and function (2:0) number of the port's function. */
  devFuncNum: number;
  busNum: number;
  segment: number;
  maxPortIndex: number;
  /**
   * The IDE Extended Capability registers as u32s: IDE Capability, IDE Control, then the
   * Link IDE and Selective IDE stream register blocks. The count is the byte count / 4.
   */
  ideRegisters: readonly number[];
}

/** Fields shared by the stream-addressed objects (bytes 1..6). */
interface StreamFields {
  /** Bytes 1-2, reserved. */
  reserved?: number;
  streamId: number;
  keySubStream: KeySubStream;
  portIndex: number;
}

export interface IdeKmKeyProg extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_KEY_PROG;
  /** Byte 4, reserved. */
  reserved2?: number;
  /**
   * The AES-GCM-256 key as 8 u32 dwords, indexed like spdm-emu's key buffer
   * (`pci_ide_km_aes_256_gcm_key_buffer_t.key[0..7]`); the wire order depends on `keyOrder`.
   */
  key: readonly number[];
  /** The IV invocation field as 2 u32 dwords (`iv[0..1]`), same ordering rule. */
  ifv: readonly number[];
}

export interface IdeKmKpAck extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_KP_ACK;
  /** KP_ACK_STATUS; unknown values kept. */
  status: number;
}

export interface IdeKmKSetGo extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_K_SET_GO;
  reserved2?: number;
}

export interface IdeKmKSetStop extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_K_SET_STOP;
  reserved2?: number;
}

export interface IdeKmKGoStopAck extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK;
  reserved2?: number;
}

export type IdeKmMessage =
  | IdeKmQuery
  | IdeKmQueryResp
  | IdeKmKeyProg
  | IdeKmKpAck
  | IdeKmKSetGo
  | IdeKmKSetStop
  | IdeKmKGoStopAck;

/**
 * Dword order of KEY_PROG's Key and IFV on the wire.
 * - 'spdm-emu' (default): key[0..7] then iv[0..1], as spdm-emu copies its key buffer.
 * - 'spdm-rs': key[7..0] then iv[1..0]; spdm-rs's `Aes256GcmKeyBuffer` writes the dwords in
 *   reverse order, each dword still little-endian (the bytes inside a dword do not move).
 */
export type KeyOrder = 'spdm-emu' | 'spdm-rs';

export interface IdeKmCodecOptions {
  keyOrder?: KeyOrder;
}

/** Size of K_SET_GO / K_SET_STOP / K_GOSTOP_ACK / KP_ACK: object id + 6 bytes. */
export const IDE_KM_STREAM_MESSAGE_SIZE = 7;
/** KEY_PROG: 7-byte header + Key (32) + IFV (8). */
export const IDE_KM_KEY_PROG_SIZE = 7 + 4 * (PCI_IDE_KM_KEY_DWORDS + PCI_IDE_KM_IFV_DWORDS);

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
function readStreamFields(
  r: Reader,
  objectId: number,
): [StreamFields & { objectId: number }, number] {
  const reserved = r.reservedU16('Reserved');
  const streamId = r.u8('StreamID');
  const byte4 = r.u8(objectId === PCI_IDE_KM_OBJECT_ID_KP_ACK ? 'Status' : 'Reserved');
  const keySubStream = decodeKeySubStream(r.u8('KeySet/Direction/SubStream'));
  const f: StreamFields & { objectId: number } = {
    objectId,
    streamId,
    keySubStream,
    portIndex: r.u8('PortIndex'),
  };
  if (reserved !== undefined) f.reserved = reserved;
  return [f, byte4];
}

// Field names carry no dword index: the error's byte offset already says which dword.
function readDwords(r: Reader, n: number, field: string): number[] {
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = r.u32(field);
  return out;
}

/**
 * Decodes one IDE_KM message (the bytes after the ProtocolID byte).
 * @throws WireError on an empty input, an unknown Object ID ('bad-field'), a short message
 *   ('truncated'), extra bytes ('trailing') or a QUERY_RESP register block that is not a
 *   whole number of dwords ('bad-field').
 */
export function decodeIdeKm(bytes: Uint8Array, opts: IdeKmCodecOptions = {}): IdeKmMessage {
  const r = new Reader(bytes, PROTOCOL, 'message');
  const objectId = r.u8('ObjectID');
  r.msg = ideKmObjectName(objectId);
  let m: IdeKmMessage;
  switch (objectId) {
    case PCI_IDE_KM_OBJECT_ID_QUERY: {
      const reserved = r.reservedU8('Reserved');
      const q: IdeKmQuery = { objectId, portIndex: r.u8('PortIndex') };
      if (reserved !== undefined) q.reserved = reserved;
      m = q;
      break;
    }
    case PCI_IDE_KM_OBJECT_ID_QUERY_RESP: {
      const reserved = r.reservedU8('Reserved');
      const q: IdeKmQueryResp = {
        objectId,
        portIndex: r.u8('PortIndex'),
        devFuncNum: r.u8('DevFuncNum'),
        busNum: r.u8('BusNum'),
        segment: r.u8('Segment'),
        maxPortIndex: r.u8('MaxPortIndex'),
        ideRegisters: [],
      };
      if (r.remaining % 4 !== 0) {
        throw r.error('IdeRegisterBlock', 'bad-field', `${r.remaining} bytes is not whole dwords`);
      }
      q.ideRegisters = readDwords(r, r.remaining / 4, 'IdeRegister');
      if (reserved !== undefined) q.reserved = reserved;
      m = q;
      break;
    }
    case PCI_IDE_KM_OBJECT_ID_KEY_PROG: {
      const [f, byte4] = readStreamFields(r, objectId);
      const key = readDwords(r, PCI_IDE_KM_KEY_DWORDS, 'Key');
      const ifv = readDwords(r, PCI_IDE_KM_IFV_DWORDS, 'IFV');
      if (opts.keyOrder === 'spdm-rs') {
        key.reverse();
        ifv.reverse();
      }
      const k = Object.assign(f, { key, ifv }) as IdeKmKeyProg;
      if (byte4 !== 0) k.reserved2 = byte4;
      m = k;
      break;
    }
    case PCI_IDE_KM_OBJECT_ID_KP_ACK: {
      const [f, status] = readStreamFields(r, objectId);
      m = Object.assign(f, { status }) as IdeKmKpAck;
      break;
    }
    case PCI_IDE_KM_OBJECT_ID_K_SET_GO:
    case PCI_IDE_KM_OBJECT_ID_K_SET_STOP:
    case PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK: {
      const [f, byte4] = readStreamFields(r, objectId);
      const g = f as IdeKmKSetGo | IdeKmKSetStop | IdeKmKGoStopAck;
      if (byte4 !== 0) g.reserved2 = byte4;
      m = g;
      break;
    }
    default:
      throw new WireError(PROTOCOL, r.msg, 'ObjectID', 0, 'bad-field', 'unknown object id');
  }
  r.end();
  return m;
}

function writeDwords(
  w: Writer,
  v: readonly number[],
  n: number,
  field: string,
  reversed: boolean,
): void {
  if (v.length !== n) throw new RangeError(`${field}: expected ${n} dwords, got ${v.length}`);
  for (let i = 0; i < n; i++) w.u32(v[reversed ? n - 1 - i : i], field);
}

function writeStreamFields(w: Writer, m: StreamFields, byte4: number): void {
  w.u16(m.reserved ?? 0, 'Reserved');
  w.u8(m.streamId, 'StreamID');
  w.u8(byte4, 'byte 4');
  w.u8(encodeKeySubStream(m.keySubStream));
  w.u8(m.portIndex, 'PortIndex');
}

/**
 * Encodes one IDE_KM message (without the ProtocolID byte).
 * @throws RangeError when a field does not fit, a key is not 8 dwords or an IFV not 2,
 *   or the object id is unknown.
 */
export function encodeIdeKm(m: IdeKmMessage, opts: IdeKmCodecOptions = {}): Uint8Array {
  const w = new Writer(m.objectId === PCI_IDE_KM_OBJECT_ID_QUERY_RESP ? 64 : 48);
  w.u8(m.objectId, 'ObjectID');
  switch (m.objectId) {
    case PCI_IDE_KM_OBJECT_ID_QUERY:
      w.u8(m.reserved ?? 0, 'Reserved').u8(m.portIndex, 'PortIndex');
      break;
    case PCI_IDE_KM_OBJECT_ID_QUERY_RESP:
      w.u8(m.reserved ?? 0, 'Reserved')
        .u8(m.portIndex, 'PortIndex')
        .u8(m.devFuncNum, 'DevFuncNum')
        .u8(m.busNum, 'BusNum')
        .u8(m.segment, 'Segment')
        .u8(m.maxPortIndex, 'MaxPortIndex');
      for (const v of m.ideRegisters) w.u32(v, 'IdeRegister');
      break;
    case PCI_IDE_KM_OBJECT_ID_KEY_PROG: {
      writeStreamFields(w, m, m.reserved2 ?? 0);
      const rs = opts.keyOrder === 'spdm-rs';
      writeDwords(w, m.key, PCI_IDE_KM_KEY_DWORDS, 'Key', rs);
      writeDwords(w, m.ifv, PCI_IDE_KM_IFV_DWORDS, 'IFV', rs);
      break;
    }
    case PCI_IDE_KM_OBJECT_ID_KP_ACK:
      writeStreamFields(w, m, m.status);
      break;
    case PCI_IDE_KM_OBJECT_ID_K_SET_GO:
    case PCI_IDE_KM_OBJECT_ID_K_SET_STOP:
    case PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK:
      writeStreamFields(w, m, m.reserved2 ?? 0);
      break;
    default:
      throw new RangeError(`no IDE_KM codec for object id ${(m as { objectId: number }).objectId}`);
  }
  return w.finish();
}
