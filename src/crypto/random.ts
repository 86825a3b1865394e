/**
 * Randomness for teeio: every function that needs random bytes takes a `RandomSource`, so a
 * world can run on the operating system's RNG or on a seeded, replayable stream.
 *
 * The seeded stream is HMAC_DRBG (NIST SP 800-90A Rev. 1, section 10.1.2; SHA-256 unless
 * told otherwise), without reseeding: it is for reproducible models, not for production
 * keys. Its state is plain data (`SeededRandom.state()`, `randomFromState`), so a world
 * snapshot can carry its RNG and resume the stream exactly.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { type HashAlg, hashSize } from './hash.ts';

/** Returns `n` random bytes. */
export type RandomSource = (n: number) => Uint8Array;

/** The operating system's RNG (node's crypto.randomBytes). */
export const defaultRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

/** Serialisable state of an HmacDrbg, so a world snapshot can carry its RNG. */
export interface DrbgState {
  k: string; // hex
  v: string; // hex
  /** HMAC hash; absent means sha256. */
  hash?: HashAlg;
}

/**
 * A replayable RandomSource: the same seed gives the same bytes, and its state can be
 * captured and restored. Signers that see one sign deterministically (asym.ts), so a whole
 * seeded run repeats byte for byte.
 */
export interface SeededRandom extends RandomSource {
  readonly seeded: true;
  /** The generator's state now (plain data, JSON-safe). */
  state(): DrbgState;
  /**
   * Puts the generator back to `state()` in place, so every holder of this source (a device,
   * a TSM, their signers) continues from there: how a world snapshot is restored.
   * @throws RangeError when K or V is not one hash output long, or the hash differs.
   */
  restore(state: DrbgState): void;
}

/** True for a SeededRandom (a replayable run), false for the OS RNG or any other source. */
export function isSeededRandom(r: RandomSource | undefined): r is SeededRandom {
  return (r as Partial<SeededRandom> | undefined)?.seeded === true;
}

/**
 * The wall-clock stand-in of a seeded run (2025-01-01T00:00:00Z): certificate validity and
 * capture timestamps start here instead of at `Date.now()`, so a replay repeats them too.
 */
export const REPLAY_EPOCH_MS = Date.UTC(2025, 0, 1);

const enc = (x: Uint8Array | string) => (typeof x === 'string' ? Buffer.from(x, 'utf8') : x);

/** HMAC_DRBG seeded from caller-chosen bytes; deterministic for a given seed. */
export class HmacDrbg {
  private k: Uint8Array;
  private v: Uint8Array;

  /**
   * Instantiate (SP 800-90A 10.1.2.3) with seed_material = `seed` || `personalization`.
   * @param seed entropy input (and nonce, concatenated; a string is taken as UTF-8)
   * @param personalization optional personalization string, to derive distinct streams
   * @param hash the HMAC hash (RFC 6979 uses the signature's message hash)
   */
  constructor(
    seed: Uint8Array | string,
    personalization: Uint8Array | string = new Uint8Array(),
    readonly hash: HashAlg = 'sha256',
  ) {
    const outlen = hashSize(hash);
    this.k = new Uint8Array(outlen);
    this.v = new Uint8Array(outlen).fill(1);
    this.update(new Uint8Array(Buffer.concat([enc(seed), enc(personalization)])));
  }

  /**
   * Restores a generator from `state()`.
   * @throws RangeError when K or V is not one hash output long.
   */
  static fromState(s: DrbgState): HmacDrbg {
    const d = new HmacDrbg(new Uint8Array(), new Uint8Array(), s.hash ?? 'sha256');
    d.restore(s);
    return d;
  }

  /**
   * Continues from `s` (a `state()` of a generator with the same hash).
   * @throws RangeError when K or V is not one hash output long, or the hash differs.
   */
  restore(s: DrbgState): void {
    if ((s.hash ?? 'sha256') !== this.hash) {
      throw new RangeError(`HmacDrbg state: hash ${s.hash ?? 'sha256'}, generator ${this.hash}`);
    }
    const k = new Uint8Array(Buffer.from(s.k, 'hex'));
    const v = new Uint8Array(Buffer.from(s.v, 'hex'));
    if (k.length !== this.k.length || v.length !== this.v.length) {
      throw new RangeError(`HmacDrbg state: K and V must be ${this.k.length} bytes of hex`);
    }
    this.k = k;
    this.v = v;
  }

  state(): DrbgState {
    const s: DrbgState = {
      k: Buffer.from(this.k).toString('hex'),
      v: Buffer.from(this.v).toString('hex'),
    };
    if (this.hash !== 'sha256') s.hash = this.hash;
    return s;
  }

  private hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    const h = createHmac(this.hash, key);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  }

  /** HMAC_DRBG_Update (10.1.2.2). */
  private update(data: Uint8Array): void {
    this.k = this.hmac(this.k, this.v, Uint8Array.of(0), data);
    this.v = this.hmac(this.k, this.v);
    if (data.length === 0) return;
    this.k = this.hmac(this.k, this.v, Uint8Array.of(1), data);
    this.v = this.hmac(this.k, this.v);
  }

  /**
   * Next `n` bytes of the stream (HMAC_DRBG_Generate 10.1.2.5, no additional input).
   * @throws RangeError on a negative or non-integer `n`.
   */
  generate(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`HmacDrbg: bad length ${n}`);
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      this.v = this.hmac(this.k, this.v);
      const take = Math.min(this.v.length, n - off);
      out.set(this.v.subarray(0, take), off);
      off += take;
    }
    this.update(new Uint8Array());
    return out;
  }

  /** This generator as a SeededRandom (bound; its state is this generator's). */
  readonly random: SeededRandom = Object.assign((n: number) => this.generate(n), {
    seeded: true as const,
    state: () => this.state(),
    restore: (st: DrbgState) => this.restore(st),
  });
}

/** A deterministic RandomSource from a seed (HMAC_DRBG SHA-256). */
export function seededRandom(seed: Uint8Array | string, personalization?: string): SeededRandom {
  return new HmacDrbg(seed, personalization).random;
}

/**
 * The SeededRandom a `state()` was taken from, continuing where it was.
 * @throws RangeError on a malformed state.
 */
export function randomFromState(s: DrbgState): SeededRandom {
  return HmacDrbg.fromState(s).random;
}
