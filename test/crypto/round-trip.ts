/** Shared sign/verify round trip for signing.test.ts and signing.slow.test.ts. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ASYM_INFO, type AsymAlg, generateSigningKeyPair } from '../../src/crypto/asym.ts';
import { digest } from '../../src/crypto/hash.ts';
import {
  SPDM_SIGNING_CONTEXT,
  spdmSign,
  spdmSignHash,
  spdmVerify,
  spdmVerifyHash,
} from '../../src/crypto/signing.ts';

/** RSA 3072/4096 key generation takes seconds: those suites run in signing.slow.test.ts. */
export const FAST_ALGS: AsymAlg[] = [
  'ecdsa-p256',
  'ecdsa-p384',
  'ecdsa-p521',
  'rsassa-2048',
  'rsapss-2048',
  'ed25519',
];

export function roundTrip(alg: AsymAlg): void {
  const keys = generateSigningKeyPair(alg);
  const other = generateSigningKeyPair(alg);
  const hash = ASYM_INFO[alg].signatureSize > 96 ? 'sha512' : 'sha384';
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom(0x10, 0x11, 0x12, 0x13),
      (msg, version) => {
        if (alg === 'ed25519' && version < 0x12) return; // EdDSA arrived with SPDM 1.2
        const p = { asym: alg, hash, version, context: SPDM_SIGNING_CONTEXT.MEASUREMENTS } as const;
        const sig = spdmSign(p, keys.privateKey, msg);
        assert.equal(sig.length, ASYM_INFO[alg].signatureSize);
        assert.ok(spdmVerify(p, keys.publicKey, msg, sig));
        assert.ok(!spdmVerify(p, other.publicKey, msg, sig), 'another key');
        assert.ok(!spdmVerify(p, keys.publicKey, Uint8Array.of(...msg, 0), sig), 'another message');
        assert.ok(!spdmVerify(p, keys.publicKey, msg, sig.subarray(1)), 'short signature');
        if (version >= 0x12) {
          const h = digest(hash, msg);
          assert.ok(spdmVerifyHash(p, keys.publicKey, h, spdmSignHash(p, keys.privateKey, h)));
          assert.ok(
            !spdmVerify({ ...p, context: SPDM_SIGNING_CONTEXT.FINISH }, keys.publicKey, msg, sig),
          );
        }
      },
    ),
    { numRuns: 8 },
  );
}
