/**
 * Randomness for teeio: every function that needs random bytes takes a `RandomSource`, so a
 * world can run on the operating system's RNG or on a seeded, replayable stream.
 *
 * The seeded stream is HMAC_DRBG with SHA-256 (NIST SP 800-90A Rev. 1, section 10.1.2),
 * without reseeding: it is for reproducible models, not for production keys.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** Returns `n` random bytes. */
export type RandomSource = (n: number) => Uint8Array;

/** The operating system's RNG (node's crypto.randomBytes). */
export const defaultRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

/** Serialisable state of an HmacDrbg, so a world snapshot can carry its RNG. */
export interface DrbgState {
  k: string; // hex
  v: string; // hex
}

const OUTLEN = 32;

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** HMAC_DRBG (SHA-256) seeded from caller-chosen bytes; deterministic for a given seed. */
export class HmacDrbg {
  private k: Uint8Array;
  private v: Uint8Array;

  /**
   * @param seed entropy input (any length; a string is taken as UTF-8)
   * @param personalization optional personalization string, to derive distinct streams
   */
  constructor(seed: Uint8Array | string, personalization: Uint8Array | string = new Uint8Array()) {
    this.k = new Uint8Array(OUTLEN);
    this.v = new Uint8Array(OUTLEN).fill(1);
    const enc = (x: Uint8Array | string) => (typeof x === 'string' ? Buffer.from(x, 'utf8') : x);
    this.update(new Uint8Array(Buffer.concat([enc(seed), enc(personalization)])));
  }

  /** Restores a generator from `state()`. */
  static fromState(s: DrbgState): HmacDrbg {
    const d = new HmacDrbg(new Uint8Array());
    d.k = new Uint8Array(Buffer.from(s.k, 'hex'));
    d.v = new Uint8Array(Buffer.from(s.v, 'hex'));
    return d;
  }

  state(): DrbgState {
    return { k: Buffer.from(this.k).toString('hex'), v: Buffer.from(this.v).toString('hex') };
  }

  private update(data: Uint8Array): void {
    this.k = hmac(this.k, this.v, Uint8Array.of(0), data);
    this.v = hmac(this.k, this.v);
    if (data.length === 0) return;
    this.k = hmac(this.k, this.v, Uint8Array.of(1), data);
    this.v = hmac(this.k, this.v);
  }

  /** Next `n` bytes of the stream. Throws RangeError on a negative or non-integer `n`. */
  generate(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`HmacDrbg: bad length ${n}`);
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      this.v = hmac(this.k, this.v);
      const take = Math.min(OUTLEN, n - off);
      out.set(this.v.subarray(0, take), off);
      off += take;
    }
    this.update(new Uint8Array());
    return out;
  }

  /** This generator as a RandomSource (bound). */
  readonly random: RandomSource = (n) => this.generate(n);
}

/** A deterministic RandomSource from a seed (HMAC_DRBG SHA-256). */
export function seededRandom(seed: Uint8Array | string, personalization?: string): RandomSource {
  return new HmacDrbg(seed, personalization).random;
}
