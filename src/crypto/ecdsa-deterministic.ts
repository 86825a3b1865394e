/**
 * Deterministic ECDSA (RFC 6979 section 3.2 nonce; signing per SEC 1 v2 section 4.1.3 /
 * FIPS 186-5 section 6.4.1), for seeded runs that must repeat byte for byte. node's sign
 * takes no external k, so k·G comes from node itself (ECDH's public key of the scalar k)
 * and r, s from BigInt arithmetic mod n. Output is r || s, as SPDM puts it on the wire.
 */
import { createECDH, type KeyObject } from 'node:crypto';
import { EC_CURVES, type EcCurve, ecCurveOfKey } from './ec.ts';
import { CryptoError } from './errors.ts';
import { digest, type HashAlg } from './hash.ts';
import { copyBytes, KeptResults, keptKey } from './kept.ts';
import { HmacDrbg } from './random.ts';

const toBigInt = (b: Uint8Array): bigint =>
  b.length ? BigInt(`0x${Buffer.from(b).toString('hex')}`) : 0n;

function toBytes(v: bigint, size: number): Uint8Array {
  return new Uint8Array(Buffer.from(v.toString(16).padStart(size * 2, '0'), 'hex'));
}

const bitLength = (v: bigint) => v.toString(2).length;

/** bits2int (RFC 6979 2.3.2): the leftmost qlen bits of `b` as an integer. */
function bits2int(b: Uint8Array, qlen: number): bigint {
  const v = toBigInt(b);
  const blen = b.length * 8;
  return blen > qlen ? v >> BigInt(blen - qlen) : v;
}

/** x^-1 mod m for prime m, by the extended Euclidean algorithm. */
function invert(x: bigint, m: bigint): bigint {
  let [a, b, u, v] = [((x % m) + m) % m, m, 1n, 0n];
  while (b !== 0n) {
    const q = a / b;
    [a, b, u, v] = [b, a - q * b, v, u - q * v];
  }
  return ((u % m) + m) % m;
}

/**
 * Signs `data` (hashed with `hash`) with the private scalar `d` of `curve`, with the
 * RFC 6979 nonce derived from `d` and the hash, HMAC over the same hash.
 * @throws CryptoError('bad-key') when `d` is not a valid scalar of the curve.
 */
export function ecdsaSignDeterministic(
  curve: EcCurve,
  hash: HashAlg,
  d: Uint8Array,
  data: Uint8Array,
): Uint8Array {
  // The signature is a function of the key and the message: one over the same transcript
  // (a state the explorer reaches again) is the one computed before.
  const key = keptKey(`${curve} ${hash}`, d, data);
  const had = SIGNATURES.get(key);
  if (had) return had;
  const sig = signFresh(curve, hash, d, data);
  SIGNATURES.set(key, sig);
  return sig;
}

/** Deterministic signatures made, by key and message (the latest kept). */
const SIGNATURES = new KeptResults<Uint8Array>(4096, copyBytes);

/**
 * The signatures kept, as plain data (keyed by digests of key and message, no secret in
 * them), for another thread to take (`keepSignatures`): a worker of a parallel exploration
 * starts with what its parent signed.
 */
export function keptSignatures(): [string, Uint8Array][] {
  return SIGNATURES.entries();
}

export function keepSignatures(entries: readonly [string, Uint8Array][]): void {
  SIGNATURES.keep(entries);
}

function signFresh(curve: EcCurve, hash: HashAlg, d: Uint8Array, data: Uint8Array): Uint8Array {
  const { nodeName, size, order: n } = EC_CURVES[curve];
  const x = toBigInt(d);
  if (x < 1n || x >= n) throw new CryptoError('bad-key', `${curve} scalar out of range`);
  const qlen = bitLength(n);
  const h1 = digest(hash, data);
  const e = bits2int(h1, qlen);
  // bits2octets(h1) = int2octets(bits2int(h1) mod q); int2octets pads to rlen = size bytes.
  const drbg = new HmacDrbg(
    new Uint8Array(Buffer.concat([toBytes(x, size), toBytes(e % n, size)])),
    new Uint8Array(),
    hash,
  );
  const ecdh = createECDH(nodeName);
  for (;;) {
    // Step h: T is size bytes (>= qlen bits); a k out of range, or an r or s of zero
    // (section 3.4), takes the next candidate, which generate()'s K/V update produces.
    const k = bits2int(drbg.generate(size), qlen);
    if (k < 1n || k >= n) continue;
    ecdh.setPrivateKey(toBytes(k, size));
    const r = toBigInt(ecdh.getPublicKey().subarray(1, 1 + size)) % n;
    if (r === 0n) continue;
    const s = (invert(k, n) * (e + r * x)) % n;
    if (s === 0n) continue;
    const out = new Uint8Array(2 * size);
    out.set(toBytes(r, size), 0);
    out.set(toBytes(s, size), size);
    return out;
  }
}

/**
 * The private scalar of an EC KeyObject, `size` big-endian bytes (via JWK export).
 * @throws CryptoError('bad-key') for a key that is not a private key on a supported curve.
 */
export function ecPrivateScalar(key: KeyObject): { curve: EcCurve; d: Uint8Array } {
  const curve = ecCurveOfKey(key);
  if (!curve || key.type !== 'private') {
    throw new CryptoError('bad-key', `not a private key on P-256/384/521`);
  }
  const jwk = key.export({ format: 'jwk' });
  const d = new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url'));
  const size = EC_CURVES[curve].size;
  const padded = new Uint8Array(size);
  padded.set(d.subarray(Math.max(0, d.length - size)), Math.max(0, size - d.length));
  return { curve, d: padded };
}
