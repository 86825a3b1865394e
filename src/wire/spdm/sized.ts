/**
 * DSP0274 (SPDM) 1.0-1.3: fields whose size the negotiated algorithms fix (WIRE.md H, S, D:
 * digests, signatures, DHE exchange data). Decoders cannot read them without the sizes in
 * the codec context; encoders check them against those sizes when the context gives them.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { AlgorithmSizes, SpdmCodecContext } from './context.ts';

type SizeKey = 'hashSize' | 'signatureSize' | 'dheSize';

/**
 * One negotiated size from `ctx.sizes`, for a decoder about to read an algorithm-sized field.
 * @throws WireError bad-field on `field` (default `ctx.sizes.<key>`) when ctx.sizes does not
 * give it.
 */
export function needSize(
  r: Reader,
  ctx: SpdmCodecContext,
  key: SizeKey,
  field = `ctx.sizes.${key}`,
): number {
  const n = (ctx.sizes as Partial<AlgorithmSizes> | undefined)?.[key];
  if (n === undefined || !Number.isInteger(n) || n < 0) {
    throw r.error(field, 'bad-field', `${r.msg} needs the negotiated ${key} (ctx.sizes)`);
  }
  return n;
}

/**
 * Reads an algorithm-sized field of the size `ctx.sizes[key]`.
 * @throws WireError bad-field on `field` when ctx.sizes does not give the size; truncated.
 */
export function readSized(
  r: Reader,
  ctx: SpdmCodecContext,
  key: SizeKey,
  field: string,
): Uint8Array {
  return r.bytes(needSize(r, ctx, key, field), field);
}

/**
 * Writes an algorithm-sized field, checked against `size` when the context gives it.
 * @throws RangeError when `b` is not `size` bytes.
 */
export function writeSized(
  w: Writer,
  b: Uint8Array,
  size: number | undefined,
  field: string,
): void {
  if (size === undefined) w.bytes(b);
  else w.fixed(b, size, field);
}
