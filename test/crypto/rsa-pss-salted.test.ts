/**
 * RSASSA-PSS with a chosen salt (seeded runs): node's verify accepts what the EMSA-PSS
 * encoder and raw RSA produce, for rsaEncryption and RSASSA-PSS keys; a seeded signer
 * repeats, the OS RNG does not.
 */
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, verify as nodeVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import { asymSign, asymVerify } from '../../src/crypto/asym.ts';
import { isCryptoError } from '../../src/crypto/errors.ts';
import { digest } from '../../src/crypto/hash.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import { emsaPssEncode, mgf1, rsaPssSignWithSalt } from '../../src/crypto/rsa-pss-salted.ts';
import { concat, toHex } from '../../src/wire/hex.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const message = new Uint8Array(Buffer.from('dmtf-spdm-v1.3.* signing block'));

describe('RSASSA-PSS with a chosen salt', () => {
  it('node verifies it with saltLength = hLen, for every SPDM hash', () => {
    for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
      const salt = digest(hash, Uint8Array.of(7)); // any hLen bytes
      const sig = rsaPssSignWithSalt(rsa.privateKey, hash, message, salt);
      assert.equal(sig.length, 256);
      const opts = {
        key: rsa.publicKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: salt.length,
      };
      assert.ok(nodeVerify(hash, message, opts, sig), hash);
      assert.ok(!nodeVerify(hash, Uint8Array.of(1), opts, sig), `${hash}: another message`);
    }
  });

  it('the salt is the one given: another salt, another signature', () => {
    const a = rsaPssSignWithSalt(rsa.privateKey, 'sha256', message, new Uint8Array(32));
    const b = rsaPssSignWithSalt(rsa.privateKey, 'sha256', message, new Uint8Array(32));
    const c = rsaPssSignWithSalt(rsa.privateKey, 'sha256', message, new Uint8Array(32).fill(1));
    assert.equal(toHex(a), toHex(b));
    assert.notEqual(toHex(a), toHex(c));
  });

  it('an RSASSA-PSS (OID rsassaPss) key signs too', () => {
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    const sig = asymSign('rsapss-2048', 'sha384', pss.privateKey, message, seededRandom('pss'));
    assert.ok(asymVerify('rsapss-2048', 'sha384', pss.publicKey, message, sig));
  });

  it('asymSign: a seeded source repeats the signature, the OS RNG does not', () => {
    const s1 = asymSign('rsapss-2048', 'sha256', rsa.privateKey, message, seededRandom('x'));
    const s2 = asymSign('rsapss-2048', 'sha256', rsa.privateKey, message, seededRandom('x'));
    const s3 = asymSign('rsapss-2048', 'sha256', rsa.privateKey, message, seededRandom('y'));
    assert.equal(toHex(s1), toHex(s2));
    assert.notEqual(toHex(s1), toHex(s3));
    assert.ok(asymVerify('rsapss-2048', 'sha256', rsa.publicKey, message, s1));
    const n1 = asymSign('rsapss-2048', 'sha256', rsa.privateKey, message);
    const n2 = asymSign('rsapss-2048', 'sha256', rsa.privateKey, message);
    assert.notEqual(toHex(n1), toHex(n2));
  });

  it('MGF1 is Hash(seed || counter) blocks (RFC 8017 B.2.1)', () => {
    const seed = Uint8Array.of(1, 2, 3);
    const expected = concat(
      digest('sha256', seed, Uint8Array.of(0, 0, 0, 0)),
      digest('sha256', seed, Uint8Array.of(0, 0, 0, 1)),
    ).subarray(0, 40);
    assert.equal(toHex(mgf1('sha256', seed, 40)), toHex(expected));
  });

  it('EMSA-PSS refuses an encoding too short; a public key cannot sign', () => {
    assert.throws(() => emsaPssEncode('sha512', message, new Uint8Array(64), 8 * 100), RangeError);
    assert.throws(
      () => rsaPssSignWithSalt(rsa.publicKey, 'sha256', message, new Uint8Array(32)),
      (e: unknown) => isCryptoError(e) && e.reason === 'bad-key',
    );
  });
});
