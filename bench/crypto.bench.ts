/**
 * Crypto throughput: ECDSA P-384 sign/verify of an SPDM 1.3 signing block, ECDHE P-384
 * keygen + shared secret, the whole session key schedule (handshake + data secrets), and
 * AES-256-GCM seal/open of 1 KiB records.
 */
import { aeadOpen, aeadSeal, sequenceNonce } from '../src/crypto/aead.ts';
import { generateSigningKeyPair } from '../src/crypto/asym.ts';
import { dheGenerate, dheSharedSecret } from '../src/crypto/dhe.ts';
import { deriveDataSecrets, deriveHandshakeSecrets } from '../src/crypto/key-schedule.ts';
import { seededRandom } from '../src/crypto/random.ts';
import { SPDM_SIGNING_CONTEXT, spdmSignHash, spdmVerifyHash } from '../src/crypto/signing.ts';
import type { BenchCase } from './harness.ts';

const rng = seededRandom('bench');
const keys = generateSigningKeyPair('ecdsa-p384', rng);
const p = {
  asym: 'ecdsa-p384',
  hash: 'sha384',
  version: 0x13,
  context: SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH,
} as const;
const th = rng(48);
const sig = spdmSignHash(p, keys.privateKey, th);
const peer = dheGenerate('secp384r1', rng);
const schedule = { version: 0x13, hash: 'sha384', aeadKeySize: 32 } as const;
const shared = rng(48);
const key = rng(32);
const iv = rng(12);
const aad = rng(6);
const record = rng(1024);
const sealed = aeadSeal('aes-256-gcm', key, iv, aad, record);
let seq = 0;

export const cases: BenchCase[] = [
  {
    group: 'crypto',
    name: 'ECDSA P-384 sign (SPDM 1.3 block)',
    fn: () => spdmSignHash(p, keys.privateKey, th),
  },
  {
    group: 'crypto',
    name: 'ECDSA P-384 verify (SPDM 1.3 block)',
    fn: () => spdmVerifyHash(p, keys.publicKey, th, sig),
  },
  {
    group: 'crypto',
    name: 'ECDHE P-384 keygen + shared secret',
    fn: () => dheSharedSecret(dheGenerate('secp384r1', rng), peer.exchangeData),
  },
  {
    group: 'crypto',
    name: 'key schedule (handshake + data, SHA-384)',
    fn: () =>
      deriveDataSecrets(schedule, deriveHandshakeSecrets(schedule, shared, th).handshakeSecret, th),
  },
  {
    group: 'crypto',
    name: 'AES-256-GCM seal 1 KiB',
    items: 1,
    fn: () => aeadSeal('aes-256-gcm', key, sequenceNonce(iv, seq++), aad, record),
  },
  {
    group: 'crypto',
    name: 'AES-256-GCM open 1 KiB',
    items: 1,
    fn: () => aeadOpen('aes-256-gcm', key, iv, aad, sealed),
  },
];
