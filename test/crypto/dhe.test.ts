/** ECDHE exchange data, shared secrets, peer-input validation, and the curve orders. */
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type DheGroup,
  dheExchangeSize,
  dheGenerate,
  dheSharedSecret,
  keptDhe,
} from '../../src/crypto/dhe.ts';
import { EC_CURVES, type EcCurve, ecPublicFromScalar } from '../../src/crypto/ec.ts';
import { isCryptoError } from '../../src/crypto/errors.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import { toHex } from '../../src/wire/hex.ts';

const GROUPS: DheGroup[] = ['secp256r1', 'secp384r1', 'secp521r1'];
const SIZES = { secp256r1: 64, secp384r1: 96, secp521r1: 132 };

describe('ECDHE', () => {
  for (const g of GROUPS) {
    it(`${g}: both sides agree on the X coordinate, exchange data is raw X||Y`, () => {
      const a = dheGenerate(g);
      const b = dheGenerate(g);
      assert.equal(a.exchangeData.length, SIZES[g]);
      assert.equal(dheExchangeSize(g), SIZES[g]);
      const s1 = dheSharedSecret(a, b.exchangeData);
      assert.equal(toHex(s1), toHex(dheSharedSecret(b, a.exchangeData)));
      assert.equal(s1.length, SIZES[g] / 2);
      // Independent check with node's ECDH, which takes the 0x04-prefixed point.
      const node = createECDH(
        EC_CURVES[{ secp256r1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[g] as EcCurve]
          .nodeName,
      );
      node.setPrivateKey(b.privateKey);
      assert.equal(toHex(node.getPublicKey().subarray(1)), toHex(b.exchangeData));
    });

    it(`${g}: peer exchange data off the curve or of the wrong size is a typed error`, () => {
      const a = dheGenerate(g);
      const bad = Uint8Array.from(dheGenerate(g).exchangeData);
      bad[bad.length - 1] ^= 1;
      for (const peer of [bad, bad.subarray(1), new Uint8Array(SIZES[g])]) {
        assert.throws(
          () => dheSharedSecret(a, peer),
          (e) => isCryptoError(e) && e.reason === 'invalid-public-key',
        );
      }
    });
  }

  it('a seeded RandomSource gives the same ephemeral key', () => {
    const a = dheGenerate('secp384r1', seededRandom('x'));
    const b = dheGenerate('secp384r1', seededRandom('x'));
    assert.equal(toHex(a.exchangeData), toHex(b.exchangeData));
  });

  it('the curve orders are right: (n-1)G = -G and n is refused', () => {
    for (const [curve, info] of Object.entries(EC_CURVES) as [
      EcCurve,
      (typeof EC_CURVES)[EcCurve],
    ][]) {
      const scalar = (v: bigint) =>
        Uint8Array.from(Buffer.from(v.toString(16).padStart(2 * info.size, '0'), 'hex'));
      const g = ecPublicFromScalar(curve, scalar(1n));
      const minus = ecPublicFromScalar(curve, scalar(info.order - 1n));
      assert.equal(
        toHex(minus.subarray(0, info.size)),
        toHex(g.subarray(0, info.size)),
        `${curve} x`,
      );
      assert.notEqual(toHex(minus.subarray(info.size)), toHex(g.subarray(info.size)), `${curve} y`);
      assert.throws(() => ecPublicFromScalar(curve, scalar(info.order)), isCryptoError);
      assert.throws(() => ecPublicFromScalar(curve, scalar(0n)), isCryptoError);
    }
  });
});

describe('kept ECDH results', () => {
  it('a scalar drawn again gives the same point and secret, and the caller may wipe them', () => {
    const peer = dheGenerate('secp256r1', seededRandom('peer'));
    const first = dheGenerate('secp256r1', seededRandom('kept'));
    const s1 = dheSharedSecret(first, peer.exchangeData);
    const expected = toHex(s1);
    s1.fill(0);
    first.exchangeData.fill(0);
    const again = dheGenerate('secp256r1', seededRandom('kept'));
    assert.notEqual(toHex(again.exchangeData), toHex(first.exchangeData));
    assert.equal(toHex(dheSharedSecret(again, peer.exchangeData)), expected);
    assert.equal(toHex(dheSharedSecret(peer, again.exchangeData)), expected);
  });

  it('keeps nothing of a pair from the OS RNG (STYLE 12: such a secret is never kept)', () => {
    const before = keptDhe();
    const a = dheGenerate('secp256r1');
    const b = dheGenerate('secp256r1');
    assert.equal(a.seeded, undefined);
    assert.equal(
      toHex(dheSharedSecret(a, b.exchangeData)),
      toHex(dheSharedSecret(b, a.exchangeData)),
    );
    const after = keptDhe();
    assert.equal(after.points.length, before.points.length);
    assert.equal(after.secrets.length, before.secrets.length);
  });
});
