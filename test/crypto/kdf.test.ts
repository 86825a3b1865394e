/** HKDF against RFC 5869 appendix A (test cases 1 and 3, SHA-256). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hkdfExpand, hkdfExtract } from '../../src/crypto/kdf.ts';
import { fromHex, toHex } from '../../src/wire/hex.ts';

describe('HKDF (RFC 5869)', () => {
  it('test case 1', () => {
    const prk = hkdfExtract(
      'sha256',
      fromHex('000102030405060708090a0b0c'),
      fromHex('0b'.repeat(22)),
    );
    assert.equal(toHex(prk), '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    const okm = hkdfExpand('sha256', prk, fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    assert.equal(
      toHex(okm),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('test case 3 (empty salt and info)', () => {
    const prk = hkdfExtract('sha256', new Uint8Array(), fromHex('0b'.repeat(22)));
    assert.equal(toHex(prk), '19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04');
    assert.equal(
      toHex(hkdfExpand('sha256', prk, new Uint8Array(), 42)),
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });

  it('refuses lengths above 255 * H', () => {
    assert.throws(
      () => hkdfExpand('sha256', new Uint8Array(32), new Uint8Array(), 255 * 32 + 1),
      RangeError,
    );
    assert.equal(hkdfExpand('sha256', new Uint8Array(32), new Uint8Array(), 0).length, 0);
  });
});
