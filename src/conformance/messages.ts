/**
 * Requests as the suite sends them, built byte by byte (so that a case can send a request
 * a codec would refuse to write: short, long, a reserved value), and the few response
 * fields cases read, by offset. Layouts: DSP0274 1.3 (SPDM), PCIe 6.x 6.31.3 (PCI-SIG
 * vendor-defined wrapper), 6.33.3 (IDE_KM), 11.3 (TDISP); WIRE.md lists them.
 */
import {
  SPDM_ERROR,
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
  spdmCodeName,
  spdmErrorName,
} from '../wire/spdm/constants.ts';
import { TDISP_ERROR_CODE_NAMES, tdispMessageName } from '../wire/tdisp/constants.ts';
import type { InterfaceId } from '../wire/tdisp/messages.ts';

/** Little-endian byte builder. */
export class Bytes {
  private readonly out: number[] = [];
  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: bigint): this {
    return this.u32(Number(v & 0xffffffffn)).u32(Number((v >> 32n) & 0xffffffffn));
  }
  bytes(b: Uint8Array | number[]): this {
    for (const x of b) this.out.push(x & 0xff);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.out.push(0);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export const u16At = (b: Uint8Array, o: number): number =>
  o + 2 <= b.length ? b[o] | (b[o + 1] << 8) : -1;
export const u32At = (b: Uint8Array, o: number): number =>
  o + 4 <= b.length ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : -1;
export const u64At = (b: Uint8Array, o: number): bigint =>
  o + 8 <= b.length ? BigInt(u32At(b, o)) | (BigInt(u32At(b, o + 4)) << 32n) : -1n;

export const hex = (b: Uint8Array, max = 96): string => {
  const h = Buffer.from(b.subarray(0, max)).toString('hex');
  return b.length > max ? `${h}... (${b.length} bytes)` : h;
};

/** An SPDM request: header + body. */
export function spdm(
  version: number,
  code: number,
  p1 = 0,
  p2 = 0,
  body: Uint8Array = new Uint8Array(),
) {
  return new Bytes().u8(version).u8(code).u8(p1).u8(p2).bytes(body).finish();
}

/** "ERROR InvalidRequest (0x01)", "CERTIFICATE", ... for a response. */
export function describeSpdmResponse(b: Uint8Array): string {
  if (b.length < 2) return `${b.length}-byte answer`;
  if (b[1] === SPDM_ERROR) {
    return `ERROR ${spdmErrorName(b[2] ?? 0)} (0x${(b[2] ?? 0).toString(16).padStart(2, '0')})`;
  }
  return spdmCodeName(b[1]);
}

/** The ERROR code of an SPDM ERROR response, or undefined. */
export function spdmErrorCode(b: Uint8Array): number | undefined {
  return b.length >= 4 && b[1] === SPDM_ERROR ? b[2] : undefined;
}

/** SPDM VENDOR_DEFINED_REQUEST carrying a PCI-SIG protocol message (StandardID 3, VendorID 0x0001). */
export function pciSigRequest(
  version: number,
  protocolId: number,
  message: Uint8Array,
): Uint8Array {
  return new Bytes()
    .u8(version)
    .u8(SPDM_VENDOR_DEFINED_REQUEST)
    .u16(0)
    .u16(3)
    .u8(2)
    .u16(0x0001)
    .u16(1 + message.length)
    .u8(protocolId)
    .bytes(message)
    .finish();
}

/** The PCI-SIG protocol message in a VENDOR_DEFINED_RESPONSE (ProtocolID and message), or undefined. */
export function pciSigResponse(
  b: Uint8Array,
): { protocolId: number; message: Uint8Array } | undefined {
  if (b.length < 12 || b[1] !== SPDM_VENDOR_DEFINED_RESPONSE) return undefined;
  if (u16At(b, 4) !== 3 || b[6] !== 2 || u16At(b, 7) !== 0x0001) return undefined;
  const len = u16At(b, 9);
  if (len < 1 || 11 + len > b.length) return undefined;
  return { protocolId: b[11], message: b.slice(12, 11 + len) };
}

// -- TDISP

export function functionId(id: InterfaceId): number {
  return ((id.segmentValid ? 0x1000000 : 0) | (id.segment << 16) | id.requesterId) >>> 0;
}

/** A TDISP request: version, code, reserved u16, InterfaceID (FunctionID + reserved u64), body. */
export function tdispRequest(
  code: number,
  iid: InterfaceId,
  body: Uint8Array = new Uint8Array(),
  version = 0x10,
): Uint8Array {
  return new Bytes().u8(version).u8(code).u16(0).u32(functionId(iid)).u64(0n).bytes(body).finish();
}

export function describeTdisp(b: Uint8Array): string {
  if (b.length < 2) return `${b.length}-byte TDISP answer`;
  if (b[1] === 0x7f) {
    const code = u32At(b, 16);
    return `TDISP_ERROR ${TDISP_ERROR_CODE_NAMES[code] ?? '?'} (0x${code.toString(16)})`;
  }
  return tdispMessageName(b[1]);
}

export const TDI_STATE_NAMES = ['CONFIG_UNLOCKED', 'CONFIG_LOCKED', 'RUN', 'ERROR'] as const;
export const tdiStateName = (n: number): string => TDI_STATE_NAMES[n] ?? `state ${n}`;

// -- IDE_KM

export type SubStream = 'PR' | 'NPR' | 'CPL';
export type Direction = 'RX' | 'TX';
export interface KeySlot {
  subStream: SubStream;
  direction: Direction;
  keySet: 0 | 1;
}
const SUB_STREAM_CODE: Record<SubStream, number> = { PR: 0, NPR: 1, CPL: 2 };

/** KeySubStream byte: bit 0 key set, bit 1 direction (1 TX), bits 7:4 sub-stream. */
export function keySubStream(s: KeySlot): number {
  return (SUB_STREAM_CODE[s.subStream] << 4) | (s.direction === 'TX' ? 2 : 0) | s.keySet;
}

/** The six slots of a key set: RX PR, NPR, CPL, then TX PR, NPR, CPL. */
export function streamSlots(keySet: 0 | 1 = 0): KeySlot[] {
  const out: KeySlot[] = [];
  for (const direction of ['RX', 'TX'] as const) {
    for (const subStream of ['PR', 'NPR', 'CPL'] as const)
      out.push({ subStream, direction, keySet });
  }
  return out;
}

export const slotLabel = (s: KeySlot): string => `${s.subStream}.${s.direction}.K${s.keySet}`;

export function ideQuery(portIndex: number): Uint8Array {
  return Uint8Array.of(0x00, 0, portIndex);
}

/** KEY_PROG: id, rsvd[2], stream, rsvd, key_sub_stream, port, key[32], ifv[8] (47 bytes). */
export function ideKeyProg(
  streamId: number,
  kss: number,
  portIndex: number,
  key: Uint8Array,
  ifv: Uint8Array,
): Uint8Array {
  return new Bytes()
    .u8(0x02)
    .u16(0)
    .u8(streamId)
    .u8(0)
    .u8(kss)
    .u8(portIndex)
    .bytes(key)
    .bytes(ifv)
    .finish();
}

/** K_SET_GO (0x04) / K_SET_STOP (0x05): id, rsvd[2], stream, rsvd, key_sub_stream, port. */
export function ideKSet(go: boolean, streamId: number, kss: number, portIndex: number): Uint8Array {
  return Uint8Array.of(go ? 0x04 : 0x05, 0, 0, streamId, 0, kss, portIndex);
}

export const KP_ACK_STATUS_NAMES = [
  'Success',
  'IncorrectLength',
  'UnsupportedPortIndex',
  'UnsupportedValue',
  'UnspecifiedFailure',
];
const IDE_KM_NAMES: Record<number, string> = {
  0: 'QUERY',
  1: 'QUERY_RESP',
  2: 'KEY_PROG',
  3: 'KP_ACK',
  4: 'K_SET_GO',
  5: 'K_SET_STOP',
  6: 'K_GOSTOP_ACK',
};

export function describeIdeKm(b: Uint8Array): string {
  if (b.length === 0) return 'empty IDE_KM answer';
  const name = IDE_KM_NAMES[b[0]] ?? `object 0x${b[0].toString(16)}`;
  if (b[0] === 0x03 && b.length >= 5) {
    return `KP_ACK ${KP_ACK_STATUS_NAMES[b[4]] ?? `status ${b[4]}`}`;
  }
  return name;
}
