/**
 * Decoder robustness check shared by every wire family's tests (STYLE.md convention 3:
 * peer bytes never cause any exception other than WireError, never hang).
 *
 * `checkRobust` takes a generator of VALID encodings and a decoder, derives hostile
 * inputs from the valid samples (truncation, extension with random bytes, bit flips,
 * byte overwrites, length-field style overwrites, deletions, insertions) plus fully
 * random inputs, and asserts that the decoder either returns or throws a WireError.
 * The valid samples themselves must decode.
 *
 * The mutation loop runs on a seeded PRNG rather than one fast-check property per
 * input, so 100,000 inputs take about as long as the decoder needs. On failure the
 * message names the seed (TEEIO_FUZZ_SEED reproduces it), the mutation and the input hex.
 * Call it from inside a node:test test; it runs synchronously.
 */
import fc from 'fast-check';
import { WireError } from '../../src/wire/errors.ts';

/** Number of hostile inputs per family: TEEIO_FUZZ_RUNS or 100,000. */
export const FUZZ_RUNS = Number(process.env.TEEIO_FUZZ_RUNS ?? 100_000);

/** A decode call slower than this counts as a hang. */
const HANG_MS = 1000;

export type Mutation =
  | 'valid'
  | 'random'
  | 'truncate'
  | 'extend'
  | 'bitflip'
  | 'overwrite'
  | 'length-field'
  | 'delete'
  | 'insert';

export const MUTATIONS: Mutation[] = [
  'truncate',
  'extend',
  'bitflip',
  'overwrite',
  'length-field',
  'delete',
  'insert',
  'random',
];

/** xorshift32: small, fast, reproducible from one number. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x7f, 0x80, 0xfe, 0xff];

// Module-level helpers (not closures per call): this runs 100,000 times per family.
let next: () => number = prng(1);

/** Re-seeds the mutation PRNG (checkRobust and the fuzz targets' driver share it). */
export function seedMutations(seed: number): void {
  next = prng(seed);
}

/** A draw from the mutation PRNG: an unsigned 32-bit integer. */
export function nextRandom(): number {
  return next();
}

/**
 * One hostile input derived from `src`: a random mutation, and one time in eight a second
 * one on top (the same mix checkRobust uses).
 */
export function mutateRandom(src: Uint8Array): { kind: Mutation; input: Uint8Array } {
  const kind = MUTATIONS[next() % MUTATIONS.length];
  let input = mutate(src, kind);
  if ((next() & 7) === 0) input = mutate(input, MUTATIONS[next() % MUTATIONS.length]);
  return { kind, input };
}

function below(n: number): number {
  return n <= 0 ? 0 : next() % n;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

export function mutate(src: Uint8Array, kind: Mutation): Uint8Array {
  switch (kind) {
    case 'valid':
      return src;
    case 'random':
      return randomBytes(below(Math.max(64, src.length + 16) + 1));
    case 'truncate':
      return src.slice(0, below(src.length));
    case 'extend': {
      const tail = randomBytes(1 + below(16));
      const out = new Uint8Array(src.length + tail.length);
      out.set(src);
      out.set(tail, src.length);
      return out;
    }
    case 'bitflip': {
      const out = src.slice();
      if (out.length === 0) return randomBytes(1 + below(8));
      for (let k = 1 + below(4); k > 0; k--) {
        const bit = below(out.length * 8);
        out[bit >>> 3] ^= 1 << (bit & 7);
      }
      return out;
    }
    case 'overwrite': {
      const out = src.slice();
      if (out.length === 0) return randomBytes(1 + below(8));
      for (let k = 1 + below(4); k > 0; k--) {
        out[below(out.length)] =
          next() & 1 ? INTERESTING[below(INTERESTING.length)] : next() & 0xff;
      }
      return out;
    }
    case 'length-field': {
      // A 1..4-byte run set to all-ones or a small value: the shape of a lying length.
      const out = src.slice();
      if (out.length === 0) return randomBytes(1 + below(8));
      const at = below(out.length);
      const n = Math.min(1 + below(4), out.length - at);
      const fill = [0xff, 0x00, 0x01, 0x7f, 0x80][below(5)];
      out.fill(fill, at, at + n);
      return out;
    }
    case 'delete': {
      if (src.length === 0) return src;
      const at = below(src.length);
      const n = 1 + below(Math.min(8, src.length - at));
      const out = new Uint8Array(src.length - n);
      out.set(src.subarray(0, at));
      out.set(src.subarray(at + n), at);
      return out;
    }
    case 'insert': {
      const at = below(src.length + 1);
      const ins = randomBytes(1 + below(8));
      const out = new Uint8Array(src.length + ins.length);
      out.set(src.subarray(0, at));
      out.set(ins, at);
      out.set(src.subarray(at), at + ins.length);
      return out;
    }
  }
}

function hex(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return s.length > 400 ? `${s.slice(0, 400)}... (${b.length} bytes)` : s;
}

/**
 * Asserts the decoder contract on `runs` hostile inputs derived from `valid`.
 * Every sample of `valid` must decode without throwing; every derived input must
 * decode or throw a WireError, within a second.
 * @throws AssertionError-like Error naming the seed, mutation and input on a violation.
 */
export function checkRobust(
  name: string,
  valid: fc.Arbitrary<Uint8Array>,
  decode: (b: Uint8Array) => unknown,
  runs: number = FUZZ_RUNS,
): void {
  const seed = Number(process.env.TEEIO_FUZZ_SEED ?? Date.now() ^ (Math.random() * 2 ** 31));
  next = prng(seed);
  // A few hundred valid samples are enough variety; mutations supply the volume.
  const nSamples = Math.max(1, Math.min(500, Math.ceil(runs / 100)));
  const samples = fc.sample(valid, { numRuns: nSamples, seed });
  const fail = (kind: Mutation, input: Uint8Array, why: string): never => {
    throw new Error(
      `checkRobust(${name}): ${why} on a ${kind} input (TEEIO_FUZZ_SEED=${seed}): ${hex(input)}`,
    );
  };
  const run = (kind: Mutation, input: Uint8Array): void => {
    const t0 = performance.now();
    try {
      decode(input);
    } catch (e) {
      if (kind === 'valid') {
        fail(kind, input, `a valid sample did not decode: ${(e as Error)?.message ?? e}`);
      }
      if (!(e instanceof WireError)) {
        fail(kind, input, `threw ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? e}`);
      }
    }
    const dt = performance.now() - t0;
    if (dt > HANG_MS) fail(kind, input, `decode took ${Math.round(dt)} ms`);
  };
  for (const s of samples) run('valid', s);
  // Capturing a stack for each of 100,000 expected WireErrors costs more than decoding;
  // the errors are only classified here, so stacks are off for the loop.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const src = samples[next() % samples.length];
      const kind = MUTATIONS[next() % MUTATIONS.length];
      let input = mutate(src, kind);
      // One in eight inputs gets a second mutation on top, to reach combinations.
      if ((next() & 7) === 0) input = mutate(input, MUTATIONS[next() % MUTATIONS.length]);
      run(kind, input);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
}
