/**
 * The SPDM signing format and sign/verify round trips for every suite teeio implements.
 * The 1.2+ block is checked against bytes built here from the DSP0274 text; the captures'
 * signatures (transcripts.test.ts) prove it is also what libspdm signs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSigningKeyPair } from '../../src/crypto/asym.ts';
import { isCryptoError } from '../../src/crypto/errors.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import {
  SPDM_SIGNING_CONTEXT,
  signingBlock,
  signingPrefix,
  spdmSign,
  spdmSignHash,
  spdmVerify,
  spdmVerifyHash,
} from '../../src/crypto/signing.ts';
import { toHex } from '../../src/wire/hex.ts';
import { FAST_ALGS, roundTrip } from './round-trip.ts';

const ascii = (s: string) => Buffer.from(s, 'ascii').toString('hex');

describe('SPDM 1.2+ signing block', () => {
  it('is prefix x4 || zero pad || context || hash (100 + H bytes)', () => {
    const hash = new Uint8Array(48).fill(0xab);
    const block = signingBlock(0x13, SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH, hash);
    const context = 'responder-challenge_auth signing'; // 32 characters -> 4 zero bytes
    const expected =
      ascii('dmtf-spdm-v1.3.*').repeat(4) +
      '00'.repeat(36 - context.length) +
      ascii(context) +
      'ab'.repeat(48);
    assert.equal(toHex(block), expected);
    assert.equal(block.length, 148);
  });

  it('patches the version digits and pads every context to 36 bytes', () => {
    assert.equal(Buffer.from(signingPrefix(0x12)).toString('ascii'), 'dmtf-spdm-v1.2.*'.repeat(4));
    for (const ctx of Object.values(SPDM_SIGNING_CONTEXT)) {
      const b = signingBlock(0x12, ctx, new Uint8Array(32));
      assert.equal(b.length, 132);
      assert.equal(Buffer.from(b.subarray(100 - ctx.length, 100)).toString('ascii'), ctx);
      assert.ok(b.subarray(64, 100 - ctx.length).every((x) => x === 0));
    }
    assert.throws(() => signingBlock(0x11, 'x', new Uint8Array(32)), RangeError);
    assert.throws(() => signingBlock(0x13, 'x'.repeat(37), new Uint8Array(32)), RangeError);
  });
});

describe('sign / verify round trips', () => {
  for (const alg of FAST_ALGS) it(alg, () => roundTrip(alg));

  it('SPDM 1.0/1.1 need the transcript: the hash-only forms refuse', () => {
    const k = generateSigningKeyPair('ecdsa-p256');
    const p = { asym: 'ecdsa-p256', hash: 'sha256', version: 0x11, context: '' } as const;
    assert.throws(
      () => spdmSignHash(p, k.privateKey, new Uint8Array(32)),
      (e) => isCryptoError(e) && e.reason === 'unsupported',
    );
    assert.throws(
      () => spdmVerifyHash(p, k.publicKey, new Uint8Array(32), new Uint8Array(64)),
      isCryptoError,
    );
  });

  it('a key of the wrong type is refused for signing and fails verification', () => {
    const ec = generateSigningKeyPair('ecdsa-p256');
    const p = {
      asym: 'ecdsa-p384',
      hash: 'sha384',
      version: 0x13,
      context: SPDM_SIGNING_CONTEXT.FINISH,
    } as const;
    assert.throws(
      () => spdmSign(p, ec.privateKey, new Uint8Array(4)),
      (e) => isCryptoError(e) && e.reason === 'bad-key',
    );
    assert.ok(!spdmVerify(p, ec.publicKey, new Uint8Array(4), new Uint8Array(96)));
  });

  it('ECDSA keys from a seeded RandomSource are reproducible', () => {
    const a = generateSigningKeyPair('ecdsa-p384', seededRandom('device-1'));
    const b = generateSigningKeyPair('ecdsa-p384', seededRandom('device-1'));
    const c = generateSigningKeyPair('ecdsa-p384', seededRandom('device-2'));
    const pub = (k: typeof a) =>
      k.publicKey.export({ format: 'der', type: 'spki' }).toString('hex');
    assert.equal(pub(a), pub(b));
    assert.notEqual(pub(a), pub(c));
  });
});
