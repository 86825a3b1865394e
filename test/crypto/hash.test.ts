/** Hashes: sizes, the running transcript hash, and peer-input robustness of DHE and chain checks. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dheGenerate, dheSharedSecret } from '../../src/crypto/dhe.ts';
import { isCryptoError } from '../../src/crypto/errors.ts';
import {
  digest,
  HASH_SIZE,
  type HashAlg,
  runningHash,
  SUPPORTED_HASHES,
} from '../../src/crypto/hash.ts';
import { toHex } from '../../src/wire/hex.ts';

describe('hashes', () => {
  it('every supported hash has its SPDM size', () => {
    assert.ok(SUPPORTED_HASHES.includes('sha384'));
    for (const h of SUPPORTED_HASHES)
      assert.equal(digest(h, Uint8Array.of(1)).length, HASH_SIZE[h]);
  });

  it('a running hash gives the digest of everything so far, and keeps going', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
        fc.constantFrom<HashAlg>('sha256', 'sha384', 'sha512'),
        (parts, alg) => {
          const r = runningHash(alg);
          const ref = createHash(alg);
          for (const p of parts) {
            r.update(p);
            ref.update(p);
            assert.equal(toHex(r.digest()), ref.copy().digest('hex'));
          }
          const fork = r.copy().update(Uint8Array.of(7));
          assert.equal(
            toHex(r.digest()),
            ref.copy().digest('hex'),
            'a copy does not disturb the original',
          );
          assert.equal(toHex(fork.digest()), ref.update(Uint8Array.of(7)).digest('hex'));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('dheSharedSecret on arbitrary peer bytes only ever throws CryptoError', () => {
    const kp = dheGenerate('secp256r1');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (peer) => {
        try {
          assert.equal(dheSharedSecret(kp, peer).length, 32);
        } catch (e) {
          assert.ok(isCryptoError(e), String(e));
        }
      }),
      { numRuns: 200 },
    );
  });
});
