/** suiteFromSpdm: from ALGORITHMS bits to algorithms and sizes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCryptoError } from '../../src/crypto/errors.ts';
import { SPDM_BIT, SUPPORTED_SPDM_ALGORITHMS, suiteFromSpdm } from '../../src/crypto/suite.ts';

describe('suiteFromSpdm', () => {
  it("the captures' selection (ALGORITHMS: hash 0x2, asym 0x80, dhe 0x10, aead 0x2, req asym 0x8)", () => {
    const s = suiteFromSpdm({
      baseHashAlgo: 0x2,
      baseAsymAlgo: 0x80,
      dheNamedGroup: 0x10,
      aeadCipherSuite: 0x2,
      reqBaseAsymAlg: 0x8,
      measurementHashAlgo: 0x4,
    });
    assert.deepEqual(
      {
        hash: s.hash,
        asym: s.asym,
        dhe: s.dhe,
        aead: s.aead,
        req: s.reqAsym,
        meas: s.measurementHash,
      },
      {
        hash: 'sha384',
        asym: 'ecdsa-p384',
        dhe: 'secp384r1',
        aead: 'aes-256-gcm',
        req: 'rsapss-3072',
        meas: 'sha384',
      },
    );
    assert.deepEqual(s.sizes, {
      hashSize: 48,
      signatureSize: 96,
      reqSignatureSize: 384,
      dheSize: 96,
      aeadKeySize: 32,
      ivSize: 12,
      tagSize: 16,
    });
  });

  it('sizes of the other suites (WIRE.md table)', () => {
    const s = suiteFromSpdm({
      baseHashAlgo: 0x1,
      baseAsymAlgo: 0x100,
      dheNamedGroup: 0x20,
      aeadCipherSuite: 0x1,
    });
    assert.deepEqual(
      [s.sizes.hashSize, s.sizes.signatureSize, s.sizes.dheSize, s.sizes.aeadKeySize],
      [32, 132, 132, 16],
    );
    const r = suiteFromSpdm({
      baseHashAlgo: 0x4,
      baseAsymAlgo: 0x20,
      dheNamedGroup: 0x8,
      aeadCipherSuite: 0x4,
    });
    assert.deepEqual(
      [r.sizes.hashSize, r.sizes.signatureSize, r.sizes.dheSize, r.sizes.aeadKeySize],
      [64, 512, 64, 32],
    );
    const none = suiteFromSpdm({ baseHashAlgo: 0x1, baseAsymAlgo: 0 });
    assert.equal(none.asym, undefined);
    assert.equal(none.sizes.dheSize, 0);
  });

  it('unsupported bits and multi-bit selections are typed errors', () => {
    const base = { baseHashAlgo: 0x2, baseAsymAlgo: 0x80 };
    const reason = (sel: Parameters<typeof suiteFromSpdm>[0]) => {
      try {
        suiteFromSpdm(sel);
        return 'ok';
      } catch (e) {
        assert.ok(isCryptoError(e));
        return e.reason;
      }
    };
    assert.equal(reason({ ...base, dheNamedGroup: 0x1 }), 'unsupported'); // FFDHE2048
    assert.equal(reason({ ...base, baseAsymAlgo: 0x200 }), 'unsupported'); // SM2
    assert.equal(reason({ ...base, aeadCipherSuite: 0x8 }), 'unsupported'); // SM4
    assert.equal(reason({ ...base, baseHashAlgo: 0x40 }), 'unsupported'); // SM3
    assert.equal(reason({ ...base, baseHashAlgo: 0x3 }), 'bad-selection');
    assert.equal(reason({ ...base, baseHashAlgo: 0 }), 'bad-selection');
    // Any single supported bit of any field works; SPDM_BIT inverts the tables.
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(SPDM_BIT.asym)),
        fc.constantFrom(...Object.values(SPDM_BIT.dhe)),
        (a, d) => {
          const s = suiteFromSpdm({ ...base, baseAsymAlgo: a, dheNamedGroup: d });
          assert.equal(SPDM_BIT.asym[s.asym!], a);
          assert.equal(SPDM_BIT.dhe[s.dhe!], d);
        },
      ),
    );
    assert.equal(SUPPORTED_SPDM_ALGORITHMS.dheNamedGroup, 0x38);
    assert.equal(SUPPORTED_SPDM_ALGORITHMS.aeadCipherSuite, 0x7);
  });
});
