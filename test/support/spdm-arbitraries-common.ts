/**
 * What the two SPDM arbitrary files (spdm-arbitraries.ts for negotiation and authentication,
 * spdm-arbitraries-session.ts for the session families) share: the field primitives, the
 * libspdm sample sizes, and the property drivers every family's test runs (message -> bytes
 * -> message, decodable bytes -> message -> the same bytes, the checkRobust run).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError } from '../../src/wire/errors.ts';
import { decodeSpdm, decodeSpdmHeader, encodeSpdm } from '../../src/wire/spdm/codec.ts';
import type { AlgorithmSizes, SpdmCodecContext } from '../../src/wire/spdm/context.ts';
import type { SpdmMessage } from '../../src/wire/spdm/messages.ts';
import { checkRobust } from './robust.ts';

// ---- primitives ----

/** fc.record with ordinary prototypes, so decoded objects deep-equal the generated ones. */
export function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
/** Reserved fields: undefined or non-zero (the decoders give undefined for zero). */
export const rsvU8 = fc.option(fc.integer({ min: 1, max: 0xff }), { nil: undefined });
export const rsvU16 = fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: undefined });
export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
export const varBytes = (max: number) => fc.uint8Array({ maxLength: max });
/** MeasurementSummaryHashType: none, TCB, all, and two unknown values. */
export const hashType = fc.constantFrom(0, 1, 0xff, 2, 0x80);
/** S of real asymmetric algorithms: ECDSA P-256/384/521, RSA 2048/3072/4096. */
export const SIG_SIZES = [64, 96, 132, 256, 384, 512];

/** libspdm's sample suite (SHA-384, ECDSA P-384, secp384r1), as in the captures. */
export const P384_SIZES: AlgorithmSizes = { hashSize: 48, signatureSize: 96, dheSize: 96 };

// ---- property drivers ----

/** A message together with the context it is encoded and decoded under. */
export interface SpdmCase {
  msg: SpdmMessage;
  ctx: SpdmCodecContext;
}

/** decodeSpdm restricted to `codes`, so mutated codes never reach other families' codecs. */
export function decodeWithin(
  codes: readonly number[],
  bytes: Uint8Array,
  ctx: SpdmCodecContext,
): SpdmMessage {
  const h = decodeSpdmHeader(bytes);
  if (!codes.includes(h.code)) {
    throw new WireError('SPDM', 'test', 'RequestResponseCode', 1, 'bad-field', 'other family');
  }
  return decodeSpdm(bytes, ctx);
}

/** message -> bytes -> message is the identity (compared after `norm`). */
export function checkCasesRoundTrip(
  cases: fc.Arbitrary<SpdmCase>,
  numRuns: number,
  norm: (m: SpdmMessage) => SpdmMessage = (m) => m,
): void {
  fc.assert(
    fc.property(cases, ({ msg, ctx }) => {
      const bytes = encodeSpdm(msg, ctx);
      assert.deepStrictEqual(norm(decodeSpdm(bytes, ctx)), norm(msg));
    }),
    { numRuns },
  );
}

/**
 * Every byte string that decodes re-encodes to itself: valid encodings with up to four
 * bytes overwritten (the code byte excepted), decoded under the case's context.
 */
export function checkCasesBytesRoundTrip(
  cases: fc.Arbitrary<SpdmCase>,
  decode: (bytes: Uint8Array, ctx: SpdmCodecContext) => SpdmMessage,
  numRuns: number,
): void {
  const edits = fc.array(fc.tuple(fc.nat(), u8), { maxLength: 4 });
  fc.assert(
    fc.property(cases, edits, ({ msg, ctx }, ed) => {
      const bytes = encodeSpdm(msg, ctx);
      for (const [at, v] of ed) {
        const i = at % bytes.length;
        if (i !== 1) bytes[i] = v;
      }
      let decoded: SpdmMessage;
      try {
        decoded = decode(bytes, ctx);
      } catch (e) {
        if (e instanceof WireError) return;
        throw e;
      }
      assert.deepStrictEqual(encodeSpdm(decoded, ctx), bytes);
    }),
    { numRuns },
  );
}

/** checkRobust over a family, its runs split between the fixed `contexts`. */
export function checkContextsRobust(
  name: string,
  contexts: SpdmCodecContext[],
  messages: (ctx: SpdmCodecContext) => fc.Arbitrary<SpdmMessage>,
  decode: (bytes: Uint8Array, ctx: SpdmCodecContext) => SpdmMessage,
  runs: number,
): void {
  for (const [i, ctx] of contexts.entries()) {
    checkRobust(
      `${name}#${i}`,
      messages(ctx).map((m) => encodeSpdm(m, ctx)),
      (b) => decode(b, ctx),
      Math.ceil(runs / contexts.length),
    );
  }
}
