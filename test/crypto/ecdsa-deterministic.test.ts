/**
 * Deterministic ECDSA for seeded runs: RFC 6979 appendix A.2.5-A.2.7 known answers (key
 * pair, k-derived r and s), each also checked by node's own verify; seeded signing repeats,
 * unseeded signing stays randomised.
 */
import assert from 'node:assert/strict';
import { verify as nodeVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type AsymAlg,
  asymSign,
  asymVerify,
  generateSigningKeyPair,
} from '../../src/crypto/asym.ts';
import { type EcCurve, ecKeyPairFromScalar, ecPublicFromScalar } from '../../src/crypto/ec.ts';
import { ecdsaSignDeterministic, ecPrivateScalar } from '../../src/crypto/ecdsa-deterministic.ts';
import { isCryptoError } from '../../src/crypto/errors.ts';
import type { HashAlg } from '../../src/crypto/hash.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import { fromHex, toHex } from '../../src/wire/hex.ts';

/** RFC 6979 A.2.5 (P-256), A.2.6 (P-384), A.2.7 (P-521): keys and "sample"/"test" signatures. */
const KEYS: Record<EcCurve, { x: string; ux: string; uy: string }> = {
  'P-256': {
    x: 'C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721',
    ux: '60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6',
    uy: '7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299',
  },
  'P-384': {
    x: '6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D896D5724E4C70A825F872C9EA60D2EDF5',
    ux: 'EC3A4E415B4E19A4568618029F427FA5DA9A8BC4AE92E02E06AAE5286B300C64DEF8F0EA9055866064A254515480BC13',
    uy: '8015D9B72D7D57244EA8EF9AC0C621896708A59367F9DFB9F54CA84B3F1C9DB1288B231C3AE0D4FE7344FD2533264720',
  },
  'P-521': {
    x: '00FAD06DAA62BA3B25D2FB40133DA757205DE67F5BB0018FEE8C86E1B68C7E75CAA896EB32F1F47C70855836A6D16FCC1466F6D8FBEC67DB89EC0C08B0E996B83538',
    ux: '01894550D0785932E00EAA23B694F213F8C3121F86DC97A04E5A7167DB4E5BCD371123D46E45DB6B5D5370A7F20FB633155D38FFA16D2BD761DCAC474B9A2F5023A4',
    uy: '00493101C962CD4D2FDDF782285E64584139C2F91B47F87FF82354D6630F746A28A0DB25741B5B34A828008B22ACC23F924FAAFBD4D33F81EA66956DFEAA2BFDFCF5',
  },
};

const VECTORS: { curve: EcCurve; hash: HashAlg; message: string; r: string; s: string }[] = [
  {
    curve: 'P-256',
    hash: 'sha256',
    message: 'sample',
    r: 'EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716',
    s: 'F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8',
  },
  {
    curve: 'P-256',
    hash: 'sha256',
    message: 'test',
    r: 'F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367',
    s: '019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083',
  },
  {
    // A hash longer than the order: bits2int truncates.
    curve: 'P-256',
    hash: 'sha512',
    message: 'sample',
    r: '8496A60B5E9B47C825488827E0495B0E3FA109EC4568FD3F8D1097678EB97F00',
    s: '2362AB1ADBE2B8ADF9CB9EDAB740EA6049C028114F2460F96554F61FAE3302FE',
  },
  {
    curve: 'P-384',
    hash: 'sha384',
    message: 'sample',
    r: '94EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C81A648152E44ACF96E36DD1E80FABE46',
    s: '99EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94FA329C145786E679E7B82C71A38628AC8',
  },
  {
    // A hash shorter than the order, as SPDM allows (BaseAsymAlgo and BaseHashAlgo are independent).
    curve: 'P-384',
    hash: 'sha256',
    message: 'sample',
    r: '21B13D1E013C7FA1392D03C5F99AF8B30C570C6F98D4EA8E354B63A21D3DAA33BDE1E888E63355D92FA2B3C36D8FB2CD',
    s: 'F3AA443FB107745BF4BD77CB3891674632068A10CA67E3D45DB2266FA7D1FEEBEFDC63ECCD1AC42EC0CB8668A4FA0AB0',
  },
  {
    curve: 'P-521',
    hash: 'sha512',
    message: 'sample',
    r: '00C328FAFCBD79DD77850370C46325D987CB525569FB63C5D3BC53950E6D4C5F174E25A1EE9017B5D450606ADD152B534931D7D4E8455CC91F9B15BF05EC36E377FA',
    s: '00617CCE7CF5064806C467F678D3B4080D6F1CC50AF26CA209417308281B68AF282623EAA63E5B5C0723D8B8C37FF0777B1A20F8CCB1DCCC43997F1EE0E44DA4A67A',
  },
];

const ALG: Record<EcCurve, AsymAlg> = {
  'P-256': 'ecdsa-p256',
  'P-384': 'ecdsa-p384',
  'P-521': 'ecdsa-p521',
};
const msg = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('deterministic ECDSA (RFC 6979)', () => {
  for (const [curve, k] of Object.entries(KEYS) as [EcCurve, (typeof KEYS)[EcCurve]][]) {
    it(`${curve}: the RFC's key pair`, () => {
      assert.equal(toHex(ecPublicFromScalar(curve, fromHex(k.x))), `${k.ux}${k.uy}`.toLowerCase());
    });
  }

  for (const v of VECTORS) {
    it(`${v.curve} with ${v.hash}, message "${v.message}": the RFC's r and s, and node verifies`, () => {
      const keys = ecKeyPairFromScalar(v.curve, fromHex(KEYS[v.curve].x));
      const { d } = ecPrivateScalar(keys.privateKey);
      const sig = ecdsaSignDeterministic(v.curve, v.hash, d, msg(v.message));
      assert.equal(toHex(sig), `${v.r}${v.s}`.toLowerCase());
      // Through asymSign with a seeded source, the same bytes whatever the seed.
      const viaAsym = asymSign(
        ALG[v.curve],
        v.hash,
        keys.privateKey,
        msg(v.message),
        seededRandom('any'),
      );
      assert.equal(toHex(viaAsym), toHex(sig));
      assert.ok(
        nodeVerify(v.hash, msg(v.message), { key: keys.publicKey, dsaEncoding: 'ieee-p1363' }, sig),
      );
    });
  }

  it('seeded signatures verify with node and repeat; unseeded ones are randomised', () => {
    const curves = fc.constantFrom<EcCurve>('P-256', 'P-384', 'P-521');
    const hashes = fc.constantFrom<HashAlg>('sha256', 'sha384', 'sha512');
    fc.assert(
      fc.property(
        curves,
        hashes,
        fc.string(),
        fc.uint8Array({ maxLength: 200 }),
        (c, h, seed, m) => {
          const keys = generateSigningKeyPair(ALG[c], seededRandom(seed, 'key'));
          const a = asymSign(ALG[c], h, keys.privateKey, m, seededRandom('run 1'));
          const b = asymSign(ALG[c], h, keys.privateKey, m, seededRandom('run 2'));
          assert.equal(toHex(a), toHex(b));
          assert.ok(asymVerify(ALG[c], h, keys.publicKey, m, a));
        },
      ),
      { numRuns: 40 },
    );
    const keys = generateSigningKeyPair('ecdsa-p384');
    const m = msg('fast path');
    const a = asymSign('ecdsa-p384', 'sha384', keys.privateKey, m);
    const b = asymSign('ecdsa-p384', 'sha384', keys.privateKey, m);
    assert.notEqual(toHex(a), toHex(b), 'no seed: node signs with a random k');
    assert.ok(asymVerify('ecdsa-p384', 'sha384', keys.publicKey, m, a));
  });

  it('a scalar out of range is a CryptoError, not a signature', () => {
    const zero = new Uint8Array(32);
    assert.throws(
      () => ecdsaSignDeterministic('P-256', 'sha256', zero, msg('x')),
      (e: unknown) => isCryptoError(e) && e.reason === 'bad-key',
    );
    const ed = generateSigningKeyPair('ed25519');
    assert.throws(
      () => ecPrivateScalar(ed.privateKey),
      (e: unknown) => isCryptoError(e) && e.reason === 'bad-key',
    );
  });
});
