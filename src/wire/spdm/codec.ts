/**
 * SPDM message codec entry points: `encodeSpdm` and `decodeSpdm`, dispatching on the
 * RequestResponseCode through the table in table.ts (one entry per family file).
 */
import { WireError } from '../errors.ts';
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import { spdmCodeName } from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmMessage } from './messages.ts';
import { SPDM_CODECS } from './table.ts';

/** How one message family encodes and decodes; `r` is positioned after the 4-byte header. */
export interface SpdmFamilyCodec<M extends SpdmMessage = SpdmMessage> {
  name: string;
  /** Writes the whole message including the 4-byte header. */
  encode(w: Writer, m: M, ctx: SpdmCodecContext): void;
  /** Reads from the start of the message (header included); must consume everything it owns. */
  decode(r: Reader, ctx: SpdmCodecContext): M;
}

export interface SpdmHeader {
  version: number;
  code: number;
  param1: number;
  param2: number;
}

/** Reads only the 4-byte header, for dispatch and for answering unknown codes. */
export function decodeSpdmHeader(bytes: Uint8Array): SpdmHeader {
  const r = new Reader(bytes, 'SPDM', 'header');
  return {
    version: r.u8('SPDMVersion'),
    code: r.u8('RequestResponseCode'),
    param1: r.u8('Param1'),
    param2: r.u8('Param2'),
  };
}

/**
 * Decodes one whole SPDM message.
 * @throws WireError on any malformed input (unknown code, wrong version, truncated, trailing).
 */
export function decodeSpdm(bytes: Uint8Array, ctx: SpdmCodecContext = {}): SpdmMessage {
  return decodeSpdmPadded(bytes, ctx, 0).message;
}

/**
 * Decodes one SPDM message followed by up to `maxPad` zero bytes of transport padding (PCI
 * DOE pads every object to a dword and says nothing of how many bytes it added). The
 * message ends where its own fields say, given `ctx` (the negotiated sizes and the request),
 * as libspdm reads it; nothing is decoded twice. A tail that no field delimits is the rest
 * of the bytes: ERROR's ExtendedErrorData of codes without a defined layout (error.ts).
 * @returns the message and exactly its bytes (what a transcript hashes).
 * @throws WireError as decodeSpdm; 'trailing' when more than `maxPad` bytes, or a non-zero
 *   byte, follow the message.
 */
export function decodeSpdmPadded(
  bytes: Uint8Array,
  ctx: SpdmCodecContext,
  maxPad: number,
): { message: SpdmMessage; bytes: Uint8Array } {
  const h = decodeSpdmHeader(bytes);
  const codec = SPDM_CODECS[h.code];
  if (!codec) {
    throw new WireError(
      'SPDM',
      spdmCodeName(h.code),
      'RequestResponseCode',
      1,
      'bad-field',
      'unknown code',
    );
  }
  if (ctx.version !== undefined && h.version !== ctx.version) {
    throw new WireError(
      'SPDM',
      codec.name,
      'SPDMVersion',
      0,
      'bad-field',
      `0x${h.version.toString(16)} but 0x${ctx.version.toString(16)} was negotiated`,
    );
  }
  const r = new Reader(bytes, 'SPDM', codec.name);
  const message = codec.decode(r, ctx);
  const end = r.offset;
  const tail = bytes.subarray(end);
  if (tail.length > maxPad || !tail.every((x) => x === 0)) r.end();
  return { message, bytes: end === bytes.length ? bytes : bytes.slice(0, end) };
}

/** Encodes one SPDM message. @throws RangeError when a field does not fit its size. */
export function encodeSpdm(m: SpdmMessage, ctx: SpdmCodecContext = {}): Uint8Array {
  const codec = SPDM_CODECS[(m as { code: number }).code];
  if (!codec) throw new RangeError(`no SPDM codec for code ${(m as { code: number }).code}`);
  const w = new Writer(256);
  codec.encode(w, m, ctx);
  return w.finish();
}
