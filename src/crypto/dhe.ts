/**
 * Ephemeral ECDHE for KEY_EXCHANGE (DSP0274 1.3 section 10.17 and table "DHE structure"):
 * the exchange data on the wire is the raw public point X||Y (D = 2 * coordinate size, no
 * 0x04 prefix) and the shared secret is the X coordinate of the product point.
 *
 * A key pair is plain data (the private scalar as bytes), so a world snapshot can hold an
 * in-flight key exchange. FFDHE groups are not implemented (node ships none of the RFC 7919
 * groups).
 */
import { createECDH, type ECDH } from 'node:crypto';
import { checkEcScalar, EC_CURVES, type EcCurve, ecScalarFromRandom } from './ec.ts';
import { CryptoError } from './errors.ts';
import { copyBytes, KeptResults, keptKey } from './kept.ts';
import { defaultRandom, isSeededRandom, type RandomSource } from './random.ts';

export type DheGroup = 'secp256r1' | 'secp384r1' | 'secp521r1';

export const DHE_CURVE: Readonly<Record<DheGroup, EcCurve>> = {
  secp256r1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** D: exchange data size on the wire. */
export function dheExchangeSize(group: DheGroup): number {
  return 2 * EC_CURVES[DHE_CURVE[group]].size;
}

export interface DheKeyPair {
  group: DheGroup;
  /** Private scalar, big-endian; wipe() it once the shared secret is computed. */
  privateKey: Uint8Array;
  /** X||Y, what goes into ExchangeData. */
  exchangeData: Uint8Array;
  /**
   * The scalar came from a seeded stream (a replayable run): anyone with the seed has it, so
   * its point and secrets may be kept for the next time the stream draws it (STYLE 12: a
   * secret from the OS RNG is never kept).
   */
  seeded?: true;
}

/**
 * The node ECDH object that computed a pair's public key, so that the shared secret does
 * not set the scalar again (one scalar multiplication less per key exchange). The pair
 * itself stays plain data; a pair without an entry (e.g. restored from a snapshot) or whose
 * scalar changed since takes the long way.
 */
const prepared = new WeakMap<DheKeyPair, ECDH>();

/**
 * Public points by group and scalar, shared secrets by group, scalar and peer point (the
 * latest kept): both are functions of their inputs, and a seeded stream draws the same
 * scalar again in every explored state that reaches the same position. Only a seeded pair's
 * are kept (DheKeyPair.seeded).
 */
const POINTS = new KeptResults<Uint8Array>(4096, copyBytes);
const SECRETS = new KeptResults<Uint8Array>(4096, copyBytes);

/** The public points and shared secrets kept, for another thread to take (`keepDhe`). */
export function keptDhe(): { points: [string, Uint8Array][]; secrets: [string, Uint8Array][] } {
  return { points: POINTS.entries(), secrets: SECRETS.entries() };
}

export function keepDhe(k: ReturnType<typeof keptDhe>): void {
  POINTS.keep(k.points);
  SECRETS.keep(k.secrets);
}

/** A fresh ephemeral key pair whose scalar comes from `rng`. */
export function dheGenerate(group: DheGroup, rng: RandomSource = defaultRandom): DheKeyPair {
  const curve = DHE_CURVE[group];
  const privateKey = ecScalarFromRandom(curve, rng);
  const seeded = isSeededRandom(rng) ? ({ seeded: true } as const) : {};
  const key = isSeededRandom(rng) ? keptKey(group, privateKey) : undefined;
  const had = key === undefined ? undefined : POINTS.get(key);
  if (had) return { group, privateKey, exchangeData: had, ...seeded };
  const ecdh = createECDH(EC_CURVES[curve].nodeName);
  ecdh.setPrivateKey(privateKey);
  const exchangeData = new Uint8Array(ecdh.getPublicKey().subarray(1));
  const kp: DheKeyPair = { group, privateKey, exchangeData, ...seeded };
  if (key !== undefined) POINTS.set(key, exchangeData);
  prepared.set(kp, ecdh);
  return kp;
}

/** The prepared ECDH of `kp` when it still holds kp's scalar. */
function preparedFor(kp: DheKeyPair, size: number): ECDH | undefined {
  const ecdh = prepared.get(kp);
  if (!ecdh) return undefined;
  prepared.delete(kp);
  const held = ecdh.getPrivateKey();
  if (kp.privateKey.length !== size || held.length > size) return undefined;
  const padded = Buffer.alloc(size);
  held.copy(padded, size - held.length);
  const same = padded.equals(kp.privateKey);
  padded.fill(0);
  held.fill(0);
  return same ? ecdh : undefined;
}

/**
 * The ECDH shared secret (X coordinate) between our key pair and the peer's ExchangeData.
 * @throws CryptoError('invalid-public-key') when the peer data has the wrong size or is not
 *   a point on the curve; CryptoError('bad-key') on a malformed private scalar.
 */
export function dheSharedSecret(kp: DheKeyPair, peerExchangeData: Uint8Array): Uint8Array {
  const curve = DHE_CURVE[kp.group];
  const info = EC_CURVES[curve];
  if (peerExchangeData.length !== 2 * info.size) {
    throw new CryptoError(
      'invalid-public-key',
      `${kp.group} exchange data is ${peerExchangeData.length} bytes, need ${2 * info.size}`,
    );
  }
  checkEcScalar(curve, kp.privateKey);
  const key = kp.seeded ? keptKey(kp.group, kp.privateKey, peerExchangeData) : undefined;
  const had = key === undefined ? undefined : SECRETS.get(key);
  if (had) {
    prepared.delete(kp);
    return had;
  }
  let ecdh = preparedFor(kp, info.size);
  if (!ecdh) {
    ecdh = createECDH(info.nodeName);
    ecdh.setPrivateKey(kp.privateKey);
  }
  const point = new Uint8Array(1 + peerExchangeData.length);
  point[0] = 0x04;
  point.set(peerExchangeData, 1);
  let secret: Uint8Array;
  try {
    secret = new Uint8Array(ecdh.computeSecret(point));
  } catch (e) {
    throw new CryptoError('invalid-public-key', `${kp.group}: ${(e as Error).message}`);
  }
  if (key !== undefined) SECRETS.set(key, secret);
  return secret;
}
