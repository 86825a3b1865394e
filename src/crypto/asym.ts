/**
 * Signature algorithms SPDM negotiates in BaseAsymAlgo / ReqBaseAsymAlg (DSP0274 1.3
 * section 10.4): ECDSA over P-256/384/521 with the raw r||s encoding SPDM puts on the
 * wire (node's dsaEncoding 'ieee-p1363'), RSASSA-PKCS1-v1_5 and RSASSA-PSS (salt length
 * = hash length, as libspdm uses) with 2048/3072/4096-bit keys, and Ed25519.
 * `data` is always the message; node hashes it with the given hash (Ed25519 does not).
 *
 * Under a seeded RandomSource (a replayable run) the two randomised schemes become
 * deterministic: ECDSA takes its nonce from RFC 6979, RSASSA-PSS its salt from the seeded
 * stream. PKCS #1 v1.5 and Ed25519 are deterministic already; otherwise node signs natively.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import {
  EC_CURVES,
  type EcCurve,
  ecCurveOfKey,
  ecKeyPairFromScalar,
  ecScalarFromRandom,
} from './ec.ts';
import { ecdsaSignDeterministic, ecPrivateScalar } from './ecdsa-deterministic.ts';
import { CryptoError } from './errors.ts';
import { type HashAlg, hashSize } from './hash.ts';
import { isSeededRandom, type RandomSource } from './random.ts';
import { rsaPssSignWithSalt } from './rsa-pss-salted.ts';

export type AsymAlg =
  | 'ecdsa-p256'
  | 'ecdsa-p384'
  | 'ecdsa-p521'
  | 'rsassa-2048'
  | 'rsassa-3072'
  | 'rsassa-4096'
  | 'rsapss-2048'
  | 'rsapss-3072'
  | 'rsapss-4096'
  | 'ed25519';

export interface AsymInfo {
  kind: 'ecdsa' | 'rsassa' | 'rsapss' | 'eddsa';
  curve?: EcCurve;
  rsaBits?: number;
  /** S: signature size on the wire. */
  signatureSize: number;
}

export const ASYM_INFO: Readonly<Record<AsymAlg, AsymInfo>> = {
  'ecdsa-p256': { kind: 'ecdsa', curve: 'P-256', signatureSize: 64 },
  'ecdsa-p384': { kind: 'ecdsa', curve: 'P-384', signatureSize: 96 },
  'ecdsa-p521': { kind: 'ecdsa', curve: 'P-521', signatureSize: 132 },
  'rsassa-2048': { kind: 'rsassa', rsaBits: 2048, signatureSize: 256 },
  'rsassa-3072': { kind: 'rsassa', rsaBits: 3072, signatureSize: 384 },
  'rsassa-4096': { kind: 'rsassa', rsaBits: 4096, signatureSize: 512 },
  'rsapss-2048': { kind: 'rsapss', rsaBits: 2048, signatureSize: 256 },
  'rsapss-3072': { kind: 'rsapss', rsaBits: 3072, signatureSize: 384 },
  'rsapss-4096': { kind: 'rsapss', rsaBits: 4096, signatureSize: 512 },
  ed25519: { kind: 'eddsa', signatureSize: 64 },
};

export const ASYM_ALGS = Object.keys(ASYM_INFO) as AsymAlg[];

/** True when `key` (public or private) is of the type and size `alg` needs. */
export function keyMatchesAsym(key: KeyObject, alg: AsymAlg): boolean {
  const info = ASYM_INFO[alg];
  switch (info.kind) {
    case 'ecdsa':
      return ecCurveOfKey(key) === info.curve;
    case 'rsassa':
    case 'rsapss':
      // An RSA-PSS-only key (OID rsassaPss) may serve PSS; plain rsaEncryption keys serve both.
      return (
        (key.asymmetricKeyType === 'rsa' ||
          (info.kind === 'rsapss' && key.asymmetricKeyType === 'rsa-pss')) &&
        key.asymmetricKeyDetails?.modulusLength === info.rsaBits
      );
    case 'eddsa':
      return key.asymmetricKeyType === 'ed25519';
  }
}

/** The algorithms a key can sign with (several for RSA: SSA and PSS of its size). */
export function asymAlgsForKey(key: KeyObject): AsymAlg[] {
  return ASYM_ALGS.filter((a) => keyMatchesAsym(key, a));
}

function signOptions(alg: AsymAlg, hash: HashAlg, key: KeyObject) {
  const info = ASYM_INFO[alg];
  if (info.kind === 'ecdsa') return { key, dsaEncoding: 'ieee-p1363' as const };
  if (info.kind === 'rsassa') return { key, padding: constants.RSA_PKCS1_PADDING };
  if (info.kind === 'rsapss') {
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: hashSize(hash) };
  }
  return key;
}

/**
 * Signs `data` (hashing it with `hash`, except Ed25519 which signs it whole).
 * @param rng a SeededRandom makes ECDSA and RSASSA-PSS signatures repeatable (see above);
 *   any other source, or none, leaves the randomness to node.
 * @throws CryptoError('bad-key') when the private key does not fit `alg`.
 */
export function asymSign(
  alg: AsymAlg,
  hash: HashAlg,
  privateKey: KeyObject,
  data: Uint8Array,
  rng?: RandomSource,
): Uint8Array {
  if (privateKey.type !== 'private' || !keyMatchesAsym(privateKey, alg)) {
    throw new CryptoError(
      'bad-key',
      `${privateKey.type} ${privateKey.asymmetricKeyType} key cannot sign ${alg}`,
    );
  }
  const kind = ASYM_INFO[alg].kind;
  if (isSeededRandom(rng) && kind === 'ecdsa') {
    const { curve, d } = ecPrivateScalar(privateKey);
    return ecdsaSignDeterministic(curve, hash, d, data);
  }
  if (isSeededRandom(rng) && kind === 'rsapss') {
    return rsaPssSignWithSalt(privateKey, hash, data, rng(hashSize(hash)));
  }
  const md = kind === 'eddsa' ? null : hash;
  return new Uint8Array(nodeSign(md, data, signOptions(alg, hash, privateKey)));
}

/**
 * Verifies a wire-format signature. Returns false, never throws, for anything a peer
 * controls: a wrong-length or malformed signature, or a key (from a peer's certificate)
 * that does not fit `alg`.
 */
export function asymVerify(
  alg: AsymAlg,
  hash: HashAlg,
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const info = ASYM_INFO[alg];
  if (signature.length !== info.signatureSize || !keyMatchesAsym(publicKey, alg)) return false;
  try {
    const md = info.kind === 'eddsa' ? null : hash;
    return nodeVerify(md, data, signOptions(alg, hash, publicKey), signature);
  } catch {
    return false;
  }
}

export interface SigningKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** PKCS #8 PrivateKeyInfo of an Ed25519 key up to its 32-byte seed (RFC 8410 section 7). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * A new signing key pair for `alg`. ECDSA scalars and Ed25519 private keys are drawn from
 * `rng`, so a seeded RandomSource gives the same key every run; RSA keys come from node's
 * own RNG (node's prime generation takes no RNG), so a seed does not reach them.
 */
export function generateSigningKeyPair(alg: AsymAlg, rng?: RandomSource): SigningKeyPair {
  const info = ASYM_INFO[alg];
  if (info.kind === 'ecdsa') {
    const curve = info.curve!;
    if (rng) return ecKeyPairFromScalar(curve, ecScalarFromRandom(curve, rng));
    return generateKeyPairSync('ec', { namedCurve: EC_CURVES[curve].nodeName });
  }
  if (info.kind === 'eddsa') {
    if (!rng) return generateKeyPairSync('ed25519');
    const key = Buffer.concat([ED25519_PKCS8_PREFIX, rng(32)]);
    const privateKey = createPrivateKey({ key, format: 'der', type: 'pkcs8' });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
  return generateKeyPairSync('rsa', { modulusLength: info.rsaBits!, publicExponent: 65537 });
}
