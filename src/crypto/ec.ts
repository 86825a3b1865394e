/**
 * The NIST prime curves SPDM uses for ECDSA (BaseAsymAlgo) and ECDHE (DHE named groups),
 * and the one thing node cannot do for us: build a key from a scalar that came from an
 * injected RandomSource (node's generateKeyPair takes no RNG). Orders from SEC 2 v2 /
 * FIPS 186-4 appendix D.1.2.
 */
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.ts';
import type { RandomSource } from './random.ts';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

export interface EcCurveInfo {
  /** OpenSSL / node name, for createECDH. */
  nodeName: 'prime256v1' | 'secp384r1' | 'secp521r1';
  /** Bytes per coordinate (and per scalar). */
  size: number;
  /** Group order n. */
  order: bigint;
}

export const EC_CURVES: Readonly<Record<EcCurve, EcCurveInfo>> = {
  'P-256': {
    nodeName: 'prime256v1',
    size: 32,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  'P-384': {
    nodeName: 'secp384r1',
    size: 48,
    order:
      0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  'P-521': {
    nodeName: 'secp521r1',
    size: 66,
    order:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
};

function toBigInt(b: Uint8Array): bigint {
  return b.length ? BigInt(`0x${Buffer.from(b).toString('hex')}`) : 0n;
}

/**
 * A private scalar in [1, n-1] drawn from `rng` by rejection sampling (FIPS 186-4 B.4.2
 * "testing candidates"), as `size` big-endian bytes.
 */
export function ecScalarFromRandom(curve: EcCurve, rng: RandomSource): Uint8Array {
  const { size, order } = EC_CURVES[curve];
  const topBits = (order.toString(2).length - 1) % 8 || 8; // bits used in the first byte
  for (;;) {
    const d = rng(size);
    if (d.length !== size) throw new RangeError(`RandomSource returned ${d.length} of ${size}`);
    d[0] &= (1 << topBits) - 1;
    const v = toBigInt(d);
    if (v >= 1n && v < order) return d;
  }
}

/**
 * Checks a private scalar is `size` bytes and in [1, n-1].
 * @throws CryptoError('bad-key') otherwise.
 */
export function checkEcScalar(curve: EcCurve, d: Uint8Array): void {
  const info = EC_CURVES[curve];
  if (d.length !== info.size) {
    throw new CryptoError('bad-key', `${curve} scalar is ${d.length} bytes, need ${info.size}`);
  }
  const v = toBigInt(d);
  if (v < 1n || v >= info.order) throw new CryptoError('bad-key', `${curve} scalar out of range`);
}

/**
 * Raw public point X||Y (no 0x04 prefix) for a private scalar.
 * @throws CryptoError('bad-key') when the scalar is not valid for the curve.
 */
export function ecPublicFromScalar(curve: EcCurve, d: Uint8Array): Uint8Array {
  const info = EC_CURVES[curve];
  checkEcScalar(curve, d);
  const ecdh = createECDH(info.nodeName);
  ecdh.setPrivateKey(d);
  return new Uint8Array(ecdh.getPublicKey().subarray(1));
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/**
 * Node KeyObjects for a private scalar (via JWK), for ECDSA with a seeded key.
 * @throws CryptoError('bad-key') when the scalar is not valid for the curve.
 */
export function ecKeyPairFromScalar(
  curve: EcCurve,
  d: Uint8Array,
): { privateKey: KeyObject; publicKey: KeyObject } {
  const xy = ecPublicFromScalar(curve, d);
  const size = EC_CURVES[curve].size;
  const jwk = { kty: 'EC', crv: curve, x: b64u(xy.subarray(0, size)), y: b64u(xy.subarray(size)) };
  return {
    privateKey: createPrivateKey({ key: { ...jwk, d: b64u(d) }, format: 'jwk' }),
    publicKey: createPublicKey({ key: jwk, format: 'jwk' }),
  };
}

/** The curve of an EC KeyObject, or undefined for any other key. */
export function ecCurveOfKey(key: KeyObject): EcCurve | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const named = key.asymmetricKeyDetails?.namedCurve;
  for (const [c, info] of Object.entries(EC_CURVES)) {
    if (named === info.nodeName || named === c) return c as EcCurve;
  }
  return undefined;
}
