/** The seeded HMAC_DRBG: deterministic, restorable, and stream-shaped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRandom, HmacDrbg, seededRandom } from '../../src/crypto/random.ts';
import { concat, toHex } from '../../src/wire/hex.ts';

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

  it('long requests span several HMAC blocks; zero and bad lengths', () => {
    const out = new HmacDrbg('long').generate(1000);
    assert.equal(out.length, 1000);
    assert.notEqual(toHex(out.subarray(0, 32)), toHex(out.subarray(32, 64)));
    assert.equal(new HmacDrbg('z').generate(0).length, 0);
    assert.throws(() => new HmacDrbg('z').generate(-1), RangeError);
    assert.equal(concat(defaultRandom(16), defaultRandom(16)).length, 32);
  });
});
