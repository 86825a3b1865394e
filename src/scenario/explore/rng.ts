/**
 * The explorer's own choices (which move next), from a small seeded generator: the world's
 * randomness (nonces, keys) stays in its seeded DRBG; this only picks among moves, so a walk
 * is the same on every machine, shard and worker count.
 */
import { createHash } from 'node:crypto';

/** A generator of uniform integers seeded by `seed` (sfc32 over a SHA-256 of the seed). */
export function choiceRng(seed: string): (n: number) => number {
  const h = createHash('sha256').update(seed).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  return (n: number) => Math.floor(next() * n);
}
