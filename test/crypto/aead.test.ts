/**
 * AEAD: libspdm's encrypted FINISH / FINISH_RSP / first application record of the 1.3 DOE
 * capture open with the keys libspdm logged, and round trips / tamper checks for each cipher.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AEAD_KEY_SIZE,
  type AeadAlg,
  aeadOpen,
  aeadSeal,
  sequenceNonce,
} from '../../src/crypto/aead.ts';
import { isCryptoError } from '../../src/crypto/errors.ts';
import { toHex } from '../../src/wire/hex.ts';
import { loadCapture } from '../support/captures.ts';
import { loggedSessions } from './session-log.ts';

describe('AEAD against the DOE 1.3 capture', () => {
  const frames = loadCapture('doe-spdm13-session.txt');
  const session = loggedSessions('doe-spdm13-session.requester.log')[0];
  // keyIndex of the capture: 0 req hs, 1 rsp hs, 2 req data, 3 rsp data.
  const keys = [...session.handshakeKeys, ...session.dataKeys];

  for (const index of [32, 33, 34, 35]) {
    it(`opens frame #${index} with the logged key and IV`, () => {
      const f = frames.find((x) => x.index === index)!;
      // DOE object: 8-byte DOE header, then the DSP0277 record:
      // SessionID u32 | Length u16 | ciphertext (u16 AppDataLength || SPDM message) | MAC[16]
      const rec = f.payload.subarray(8);
      const length = rec[4] | (rec[5] << 8);
      const aad = rec.subarray(0, 6);
      const sealed = rec.subarray(6, 6 + length);
      const k = keys[f.keyIndex!];
      const plain = aeadOpen('aes-256-gcm', k.key, sequenceNonce(k.iv, f.seq!), aad, sealed);
      const appLen = plain[0] | (plain[1] << 8);
      assert.equal(appLen, f.appDataLength);
      assert.equal(toHex(plain.subarray(2, 2 + appLen)), toHex(f.plaintext!));
      // Re-sealing gives back the captured bytes: the nonce and AAD rules are libspdm's.
      assert.equal(
        toHex(aeadSeal('aes-256-gcm', k.key, sequenceNonce(k.iv, f.seq!), aad, plain)),
        toHex(sealed),
      );
      // Any flipped bit in AAD, ciphertext or tag is a typed decrypt failure.
      for (const [where, at] of [
        ['aad', 0],
        ['ciphertext', 2],
        ['tag', sealed.length - 1],
      ] as const) {
        const a = Uint8Array.from(aad);
        const s = Uint8Array.from(sealed);
        if (where === 'aad') a[at] ^= 1;
        else s[at] ^= 0x80;
        assert.throws(
          () => aeadOpen('aes-256-gcm', k.key, sequenceNonce(k.iv, f.seq!), a, s),
          (e) => isCryptoError(e) && e.reason === 'decrypt-failed',
          where,
        );
      }
    });
  }
});

describe('AEAD round trips', () => {
  for (const alg of Object.keys(AEAD_KEY_SIZE) as AeadAlg[]) {
    it(alg, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: AEAD_KEY_SIZE[alg], maxLength: AEAD_KEY_SIZE[alg] }),
          fc.uint8Array({ minLength: 12, maxLength: 12 }),
          fc.uint8Array({ maxLength: 40 }),
          fc.uint8Array({ maxLength: 300 }),
          (key, iv, aad, pt) => {
            const sealed = aeadSeal(alg, key, iv, aad, pt);
            assert.equal(sealed.length, pt.length + 16);
            assert.deepEqual(aeadOpen(alg, key, iv, aad, sealed), pt);
            assert.throws(
              () => aeadOpen(alg, key, iv, aad, sealed.subarray(0, sealed.length - 1)),
              isCryptoError,
            );
          },
        ),
        { numRuns: 40 },
      );
      assert.throws(
        () =>
          aeadOpen(
            alg,
            new Uint8Array(AEAD_KEY_SIZE[alg]),
            new Uint8Array(12),
            new Uint8Array(),
            new Uint8Array(15),
          ),
        isCryptoError,
      );
      assert.throws(
        () =>
          aeadSeal(alg, new Uint8Array(5), new Uint8Array(12), new Uint8Array(), new Uint8Array()),
        RangeError,
      );
    });
  }

  it('sequenceNonce XORs the little-endian sequence number into the first 8 bytes', () => {
    const iv = Uint8Array.from({ length: 12 }, (_, i) => i);
    assert.equal(toHex(sequenceNonce(iv, 0)), '000102030405060708090a0b');
    assert.equal(toHex(sequenceNonce(iv, 0x0102)), '020002030405060708090a0b');
    assert.equal(toHex(sequenceNonce(iv, 0xffffffffffffffffn)), 'fffefdfcfbfaf9f808090a0b');
    assert.throws(() => sequenceNonce(iv, -1), RangeError);
  });
});
