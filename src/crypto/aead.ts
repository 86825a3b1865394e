/**
 * AEAD ciphers SPDM negotiates in the AEADCipherSuite struct table (DSP0274 1.3 section
 * 10.4), with the 12-byte IV and 16-byte tag DSP0277 records use. `seal` returns
 * ciphertext || tag, the order of a DSP0277 secured record's body.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { CryptoError } from './errors.ts';

export type AeadAlg = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

export const AEAD_KEY_SIZE: Readonly<Record<AeadAlg, number>> = {
  'aes-128-gcm': 16,
  'aes-256-gcm': 32,
  'chacha20-poly1305': 32,
};
export const AEAD_IV_SIZE = 12;
export const AEAD_TAG_SIZE = 16;

function checkArgs(alg: AeadAlg, key: Uint8Array, iv: Uint8Array): void {
  if (!(alg in AEAD_KEY_SIZE)) throw new RangeError(`AEAD: unknown algorithm ${alg}`);
  if (key.length !== AEAD_KEY_SIZE[alg]) {
    throw new RangeError(`AEAD ${alg}: key is ${key.length} bytes, need ${AEAD_KEY_SIZE[alg]}`);
  }
  if (iv.length !== AEAD_IV_SIZE) throw new RangeError(`AEAD ${alg}: IV is ${iv.length} bytes`);
}

/**
 * Encrypts and authenticates. Returns ciphertext || tag (16 bytes).
 * @throws RangeError on a key or IV of the wrong length (a programming error).
 */
export function aeadSeal(
  alg: AeadAlg,
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  checkArgs(alg, key, iv);
  // The cast picks node's CipherGCM overload; chacha20-poly1305 has the same surface.
  const c = createCipheriv(alg as 'aes-256-gcm', key, iv, { authTagLength: AEAD_TAG_SIZE });
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return new Uint8Array(Buffer.concat([body, c.getAuthTag()]));
}

/**
 * Checks the tag and decrypts `sealed` = ciphertext || tag.
 * @throws CryptoError('decrypt-failed') when the tag does not verify or `sealed` is shorter
 *   than a tag; RangeError on a key or IV of the wrong length.
 */
export function aeadOpen(
  alg: AeadAlg,
  key: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Uint8Array {
  checkArgs(alg, key, iv);
  if (sealed.length < AEAD_TAG_SIZE) {
    throw new CryptoError('decrypt-failed', `${alg}: ${sealed.length} bytes cannot hold a tag`);
  }
  const ct = sealed.subarray(0, sealed.length - AEAD_TAG_SIZE);
  const tag = sealed.subarray(sealed.length - AEAD_TAG_SIZE);
  const d = createDecipheriv(alg as 'aes-256-gcm', key, iv, { authTagLength: AEAD_TAG_SIZE });
  d.setAAD(aad);
  d.setAuthTag(tag);
  const out = d.update(ct);
  try {
    return new Uint8Array(Buffer.concat([out, d.final()]));
  } catch {
    out.fill(0); // never hand out unauthenticated plaintext
    throw new CryptoError('decrypt-failed', `${alg}: authentication tag mismatch`);
  }
}

/**
 * The per-record nonce of DSP0277 1.1 section 6.2 / libspdm: the IV with the little-endian
 * 64-bit sequence number XORed into its first 8 bytes.
 * @throws RangeError on a negative sequence number or an IV that is not 12 bytes.
 */
export function sequenceNonce(iv: Uint8Array, seq: number | bigint): Uint8Array {
  if (iv.length !== AEAD_IV_SIZE) throw new RangeError(`nonce: IV is ${iv.length} bytes`);
  let s = BigInt(seq);
  if (s < 0n || s >= 1n << 64n) throw new RangeError(`nonce: sequence number ${seq} out of range`);
  const out = Uint8Array.from(iv);
  for (let i = 0; i < 8; i++) {
    out[i] ^= Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}
