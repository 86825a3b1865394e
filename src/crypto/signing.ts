/**
 * SPDM signatures (DSP0274 1.3 section 15 "Signature generation" / "Signature
 * verification"), as libspdm's libspdm_asym_sign / libspdm_asym_verify_hash build them.
 *
 * SPDM 1.2 and later sign a 100 + H byte block:
 *   "dmtf-spdm-v1.X.*" four times (64 bytes) || zero pad || context string (pad + context
 *   = 36 bytes) || Hash(transcript)
 * ECDSA and RSA hash that block again with the negotiated hash (node's sign does); Ed25519
 * signs it as is. SPDM 1.0 and 1.1 have no block: the signature is over the transcript
 * itself (ECDSA/RSA sign Hash(transcript)), so those versions need the whole transcript.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { type AsymAlg, asymSign, asymVerify } from './asym.ts';
import { CryptoError } from './errors.ts';
import { digest, type HashAlg, hashSize } from './hash.ts';
import { KeptResults, keptKey } from './kept.ts';
import type { RandomSource } from './random.ts';

/** Context strings of DSP0274 1.3 table "SPDM signing contexts" (libspdm's *_SIGN_CONTEXT). */
export const SPDM_SIGNING_CONTEXT = {
  CHALLENGE_AUTH: 'responder-challenge_auth signing',
  MUT_CHALLENGE_AUTH: 'requester-challenge_auth signing',
  MEASUREMENTS: 'responder-measurements signing',
  KEY_EXCHANGE_RSP: 'responder-key_exchange_rsp signing',
  FINISH: 'requester-finish signing',
  ENDPOINT_INFO: 'responder-endpoint_info signing',
  MUT_ENDPOINT_INFO: 'requester-endpoint_info signing',
} as const;
export type SpdmSigningContext = (typeof SPDM_SIGNING_CONTEXT)[keyof typeof SPDM_SIGNING_CONTEXT];

export const SPDM_SIGNING_PREFIX_SIZE = 64;
/** Prefix plus the 36-byte padded context: the block before the transcript hash. */
export const SPDM_SIGNING_CONTEXT_SIZE = 100;
const CONTEXT_FIELD_SIZE = SPDM_SIGNING_CONTEXT_SIZE - SPDM_SIGNING_PREFIX_SIZE;

function checkVersion(version: number): void {
  const major = version >> 4;
  const minor = version & 0xf;
  if (!Number.isInteger(version) || major < 1 || major > 9 || minor > 9 || version > 0xff) {
    throw new RangeError(`SPDM signing: bad version byte 0x${version.toString(16)}`);
  }
}

/** True when `version` (SPDMVersion byte, e.g. 0x13) uses the 1.2+ signing block. */
export function usesSigningBlock(version: number): boolean {
  checkVersion(version);
  return version >= 0x12;
}

/** "dmtf-spdm-v1.X.*" repeated four times (64 bytes). */
export function signingPrefix(version: number): Uint8Array {
  checkVersion(version);
  const one = `dmtf-spdm-v${version >> 4}.${version & 0xf}.*`;
  return new Uint8Array(Buffer.from(one.repeat(4), 'ascii'));
}

/**
 * The 100 + H byte block an SPDM 1.2+ signer signs.
 * @throws RangeError on a version below 1.2, an unknown context longer than 36 bytes.
 */
export function signingBlock(
  version: number,
  context: string,
  transcriptHash: Uint8Array,
): Uint8Array {
  if (!usesSigningBlock(version)) {
    throw new RangeError(`SPDM 1.${version & 0xf} has no signing block`);
  }
  const ctx = Buffer.from(context, 'ascii');
  if (ctx.length > CONTEXT_FIELD_SIZE) throw new RangeError(`signing context too long: ${context}`);
  const out = new Uint8Array(SPDM_SIGNING_CONTEXT_SIZE + transcriptHash.length);
  out.set(signingPrefix(version), 0);
  out.set(ctx, SPDM_SIGNING_PREFIX_SIZE + CONTEXT_FIELD_SIZE - ctx.length);
  out.set(transcriptHash, SPDM_SIGNING_CONTEXT_SIZE);
  return out;
}

export interface SpdmSignParams {
  asym: AsymAlg;
  hash: HashAlg;
  /** SPDMVersion byte of the connection (0x10..0x14). */
  version: number;
  context: string;
}

function checkHash(p: SpdmSignParams, transcriptHash: Uint8Array): void {
  if (transcriptHash.length !== hashSize(p.hash)) {
    throw new RangeError(
      `transcript hash is ${transcriptHash.length} bytes, ${p.hash} needs ${hashSize(p.hash)}`,
    );
  }
}

/**
 * Signs a transcript (M1/M2, L1/L2, TH up to the signature) for any SPDM version.
 * @param rng the run's RandomSource: a seeded one makes the signature repeatable (asymSign).
 * @throws CryptoError('bad-key') when the key does not fit `asym`.
 */
export function spdmSign(
  p: SpdmSignParams,
  privateKey: KeyObject,
  transcript: Uint8Array,
  rng?: RandomSource,
): Uint8Array {
  if (!usesSigningBlock(p.version)) return asymSign(p.asym, p.hash, privateKey, transcript, rng);
  return asymSign(
    p.asym,
    p.hash,
    privateKey,
    signingBlock(p.version, p.context, digest(p.hash, transcript)),
    rng,
  );
}

/**
 * Signs from the transcript hash alone (SPDM 1.2+ only).
 * @throws CryptoError('unsupported') for SPDM 1.0/1.1, which sign the transcript itself;
 *   CryptoError('bad-key') when the key does not fit `asym`; RangeError on a hash of the
 *   wrong size.
 */
export function spdmSignHash(
  p: SpdmSignParams,
  privateKey: KeyObject,
  transcriptHash: Uint8Array,
  rng?: RandomSource,
): Uint8Array {
  if (!usesSigningBlock(p.version)) {
    throw new CryptoError(
      'unsupported',
      'SPDM 1.0/1.1 signatures need the transcript, not its hash',
    );
  }
  checkHash(p, transcriptHash);
  const block = signingBlock(p.version, p.context, transcriptHash);
  return asymSign(p.asym, p.hash, privateKey, block, rng);
}

/** Verifies a signature over a transcript; false (never a throw) for a bad signature or key. */
export function spdmVerify(
  p: SpdmSignParams,
  publicKey: KeyObject,
  transcript: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!usesSigningBlock(p.version))
    return asymVerify(p.asym, p.hash, publicKey, transcript, signature);
  return spdmVerifyHash(p, publicKey, digest(p.hash, transcript), signature);
}

/**
 * Verifies a signature from the transcript hash (SPDM 1.2+ only); false for a bad
 * signature or key.
 * @throws CryptoError('unsupported') for SPDM 1.0/1.1; RangeError on a hash of the wrong size.
 */
export function spdmVerifyHash(
  p: SpdmSignParams,
  publicKey: KeyObject,
  transcriptHash: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!usesSigningBlock(p.version)) {
    throw new CryptoError(
      'unsupported',
      'SPDM 1.0/1.1 signatures need the transcript, not its hash',
    );
  }
  checkHash(p, transcriptHash);
  const block = signingBlock(p.version, p.context, transcriptHash);
  return asymVerify(p.asym, p.hash, publicKey, block, signature);
}

/** Verdicts by parameters, key, transcript (or its hash) and signature (the latest kept). */
const VERIFIED = new KeptResults<boolean>(4096);

/** The verdicts kept, as plain data, for another thread to take (`keepVerified`). */
export function keptVerified(): [string, boolean][] {
  return VERIFIED.entries();
}

export function keepVerified(entries: readonly [string, boolean][]): void {
  VERIFIED.keep(entries);
}

/**
 * spdmVerify with the public key as SPKI DER (how a verified peer chain keeps its leaf
 * key). A verdict is a function of its inputs: one asked again (a state the explorer
 * reaches again) is not checked again, nor the key imported again.
 * @throws what createPublicKey throws for SPKI DER it cannot import.
 */
export function spdmVerifySpki(
  p: SpdmSignParams,
  spki: Uint8Array,
  transcript: Uint8Array,
  signature: Uint8Array,
): boolean {
  const label = `${p.asym} ${p.hash} ${p.version} ${p.context}`;
  const signed = usesSigningBlock(p.version) ? digest(p.hash, transcript) : transcript;
  const key = keptKey(label, spki, signed, signature);
  let ok = VERIFIED.get(key);
  if (ok === undefined) {
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    ok = usesSigningBlock(p.version)
      ? spdmVerifyHash(p, publicKey, signed, signature)
      : spdmVerify(p, publicKey, transcript, signature);
    VERIFIED.set(key, ok);
  }
  return ok;
}
