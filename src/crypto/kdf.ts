/**
 * HMAC and HKDF (RFC 2104, RFC 5869) as SPDM uses them (DSP0274 1.3 section 12.6 key
 * schedule). Extract and Expand are separate functions because the SPDM schedule chains
 * them by hand (handshake secret -> derived salt -> master secret).
 */
import { createHmac } from 'node:crypto';
import { type HashAlg, hashSize } from './hash.ts';

/** HMAC(key, concat(data)). */
export function hmac(alg: HashAlg, key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const h = createHmac(alg, key);
  for (const d of data) h.update(d);
  return new Uint8Array(h.digest());
}

/** HKDF-Extract(salt, IKM) = HMAC(salt, IKM); an empty salt means H zero bytes (RFC 5869 2.2). */
export function hkdfExtract(alg: HashAlg, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmac(alg, salt.length ? salt : new Uint8Array(hashSize(alg)), ikm);
}

/**
 * HKDF-Expand(PRK, info, L) (RFC 5869 2.3).
 * @throws RangeError when `length` is negative or above 255 * H.
 */
export function hkdfExpand(
  alg: HashAlg,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const h = hashSize(alg);
  if (!Number.isInteger(length) || length < 0 || length > 255 * h) {
    throw new RangeError(`HKDF-Expand: length ${length} out of range for ${alg}`);
  }
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, off = 0; off < length; i++) {
    t = hmac(alg, prk, t, info, Uint8Array.of(i));
    out.set(t.subarray(0, Math.min(h, length - off)), off);
    off += h;
  }
  return out;
}
