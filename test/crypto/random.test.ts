/** The seeded HMAC_DRBG: NIST known answers, deterministic, restorable, and stream-shaped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  defaultRandom,
  HmacDrbg,
  isSeededRandom,
  randomFromState,
  seededRandom,
} from '../../src/crypto/random.ts';
import { concat, fromHex, toHex } from '../../src/wire/hex.ts';

/**
 * NIST CAVP DRBG test vectors (SP 800-90A), drbgvectors_no_reseed/HMAC_DRBG.rsp,
 * [SHA-256] [PredictionResistance = False] [EntropyInputLen = 256] [NonceLen = 128]
 * [AdditionalInputLen = 0] [ReturnedBitsLen = 1024]. The CAVP procedure instantiates with
 * EntropyInput, Nonce and PersonalizationString, generates 1024 bits twice and returns the
 * second block.
 */
const CAVP_HMAC_DRBG_SHA256 = [
  {
    case: 'PersonalizationStringLen = 0, COUNT = 0',
    entropy: 'ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488',
    nonce: '659ba96c601dc69fc902940805ec0ca8',
    personalization: '',
    returned:
      'e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89d54fbb978a15b5c443c9ec21036d2460b6f73ebad0dc2aba6e624abf07745bc107694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8',
  },
  {
    case: 'PersonalizationStringLen = 0, COUNT = 1',
    entropy: '79737479ba4e7642a221fcfd1b820b134e9e3540a35bb48ffae29c20f5418ea3',
    nonce: '3593259c092bef4129bc2c6c9e19f343',
    personalization: '',
    returned:
      'cf5ad5984f9e43917aa9087380dac46e410ddc8a7731859c84e9d0f31bd43655b924159413e2293b17610f211e09f770f172b8fb693a35b85d3b9e5e63b1dc252ac0e115002e9bedfb4b5b6fd43f33b8e0eafb2d072e1a6fee1f159df9b51e6c8da737e60d5032dd30544ec51558c6f080bdbdab1de8a939e961e06b5f1aca37',
  },
  {
    case: 'PersonalizationStringLen = 256, COUNT = 0',
    entropy: '5cacc68165a2e2ee20812f35ec73a79dbf30fd475476ac0c44fc6174cdac2b55',
    nonce: '6f885496c1e63af620becd9e71ecb824',
    personalization: 'e72dd8590d4ed5295515c35ed6199e9d211b8f069b3058caa6670b96ef1208d0',
    returned:
      'f1012cf543f94533df27fedfbf58e5b79a3dc517a9c402bdbfc9a0c0f721f9d53faf4aafdc4b8f7a1b580fcaa52338d4bd95f58966a243cdcd3f446ed4bc546d9f607b190dd69954450d16cd0e2d6437067d8b44d19a6af7a7cfa8794e5fbd728e8fb2f2e8db5dd4ff1aa275f35886098e80ff844886060da8b1e7137846b23b',
  },
];

describe('HMAC_DRBG known answers (NIST CAVP)', () => {
  for (const v of CAVP_HMAC_DRBG_SHA256) {
    it(`SHA-256 no reseed, ${v.case}`, () => {
      const d = new HmacDrbg(
        concat(fromHex(v.entropy), fromHex(v.nonce)),
        fromHex(v.personalization),
      );
      d.generate(128);
      assert.equal(toHex(d.generate(128)), v.returned);
    });
  }
});

describe('random sources', () => {
  it('the same seed gives the same stream, another seed or personalization another', () => {
    const a = seededRandom('world-1');
    const b = seededRandom('world-1');
    assert.equal(toHex(a(100)), toHex(b(100)));
    assert.notEqual(toHex(seededRandom('world-2')(32)), toHex(seededRandom('world-1')(32)));
    assert.notEqual(
      toHex(seededRandom('world-1', 'device')(32)),
      toHex(seededRandom('world-1')(32)),
    );
  });

  it('state() / fromState() resume the stream exactly', () => {
    const d = new HmacDrbg('snap');
    d.generate(17);
    const s = d.state();
    const next = d.generate(64);
    assert.equal(
      toHex(HmacDrbg.fromState(JSON.parse(JSON.stringify(s))).generate(64)),
      toHex(next),
    );
  });

  it('a SeededRandom restored from its captured state continues identically', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.array(fc.nat(80), { maxLength: 6 }),
        fc.array(fc.nat(80), { minLength: 1, maxLength: 6 }),
        (seed, before, after) => {
          const r = seededRandom(seed, 'snapshot');
          for (const n of before) r(n);
          const snapshot = JSON.parse(JSON.stringify(r.state()));
          const restored = randomFromState(snapshot);
          assert.ok(isSeededRandom(restored));
          for (const n of after) assert.equal(toHex(restored(n)), toHex(r(n)));
          assert.deepEqual(restored.state(), r.state());
        },
      ),
      { numRuns: 50 },
    );
  });

  it('a SHA-384 generator carries its hash in the state', () => {
    const d = new HmacDrbg('h', '', 'sha384');
    const s = d.state();
    assert.equal(s.hash, 'sha384');
    assert.equal(s.k.length, 96);
    assert.equal(toHex(HmacDrbg.fromState(s).generate(50)), toHex(d.generate(50)));
    assert.equal(new HmacDrbg('h').state().hash, undefined, 'SHA-256 states stay {k, v}');
  });

  it('fromState refuses K or V of the wrong size', () => {
    const s = new HmacDrbg('x').state();
    assert.throws(() => randomFromState({ ...s, k: s.k.slice(2) }), RangeError);
    assert.throws(() => randomFromState({ ...s, v: `${s.v}00` }), RangeError);
    assert.throws(() => randomFromState({ ...s, hash: 'sha512' }), RangeError);
  });

  it('only a seeded source is a SeededRandom', () => {
    assert.ok(isSeededRandom(seededRandom('s')));
    assert.ok(!isSeededRandom(defaultRandom));
    assert.ok(!isSeededRandom((n) => new Uint8Array(n)));
    assert.ok(!isSeededRandom(undefined));
  });

  it('long requests span several HMAC blocks; zero and bad lengths', () => {
    const out = new HmacDrbg('long').generate(1000);
    assert.equal(out.length, 1000);
    assert.notEqual(toHex(out.subarray(0, 32)), toHex(out.subarray(32, 64)));
    assert.equal(new HmacDrbg('z').generate(0).length, 0);
    assert.throws(() => new HmacDrbg('z').generate(-1), RangeError);
    assert.equal(concat(defaultRandom(16), defaultRandom(16)).length, 32);
  });
});
