/**
 * Hash algorithms SPDM negotiates in BaseHashAlgo / MeasurementHashAlgo (DSP0274 1.3,
 * section 10.4 NEGOTIATE_ALGORITHMS), over node:crypto.
 */
import { createHash, getHashes, type Hash } from 'node:crypto';

export type HashAlg = 'sha256' | 'sha384' | 'sha512' | 'sha3-256' | 'sha3-384' | 'sha3-512';

export const HASH_SIZE: Readonly<Record<HashAlg, number>> = {
  sha256: 32,
  sha384: 48,
  sha512: 64,
  'sha3-256': 32,
  'sha3-384': 48,
  'sha3-512': 64,
};

/** The hash algorithms this node build can run (SHA3 needs OpenSSL 1.1.1+). */
export const SUPPORTED_HASHES: readonly HashAlg[] = (Object.keys(HASH_SIZE) as HashAlg[]).filter(
  (h) => getHashes().includes(h),
);

export function hashSize(alg: HashAlg): number {
  return HASH_SIZE[alg];
}

/** Hash of the concatenation of `parts`. */
export function digest(alg: HashAlg, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * A running hash for transcripts: `update` appends, `digest` returns the hash so far
 * without finishing the stream (node's Hash.copy), so TH1 and TH2 can come from one stream.
 */
export interface RunningHash {
  readonly alg: HashAlg;
  update(data: Uint8Array): RunningHash;
  digest(): Uint8Array;
  copy(): RunningHash;
}

function wrap(alg: HashAlg, h: Hash): RunningHash {
  return {
    alg,
    update(data) {
      h.update(data);
      return this;
    },
    digest: () => new Uint8Array(h.copy().digest()),
    copy: () => wrap(alg, h.copy()),
  };
}

export function runningHash(alg: HashAlg): RunningHash {
  return wrap(alg, createHash(alg));
}
