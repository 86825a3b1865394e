/**
 * The canonical state hash: equal plain data hashes equal whatever the insertion order of
 * its maps, sets and properties; different data hashes differently; the encoding is pinned
 * by bytes built here by hand; anything that is not plain data is refused with its path.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { canonicalEncoding, canonicalHash } from '../../src/world/hash.ts';

/** Shuffles with a seedable permutation (fast-check supplies the seed). */
function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The same value rebuilt with every object, Map and Set in another insertion order. */
function reordered(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((x) => reordered(x, seed));
  if (v instanceof Map)
    return new Map(shuffled([...v], seed).map(([k, x]) => [k, reordered(x, seed)]));
  if (v instanceof Set) return new Set(shuffled([...v], seed));
  if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    return Object.fromEntries(
      shuffled(Object.entries(v), seed).map(([k, x]) => [k, reordered(x, seed)]),
    );
  }
  return v;
}

const leaf = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.bigInt(),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 8 }),
);
const state = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { maxLength: 4 }),
    // Plain objects, as the world's records are: a null-prototype {} is the same state as {}.
    fc.dictionary(fc.string({ maxLength: 4 }), tie('node'), { maxKeys: 4, noNullPrototype: true }),
    fc
      .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 50 }), tie('node')), {
        selector: (e) => e[0],
        maxLength: 4,
      })
      .map((es) => new Map(es)),
    fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { maxLength: 4 }).map((xs) => new Set(xs)),
  ),
})).node;

describe('canonical state hash', () => {
  it('is insertion-order independent for objects, Maps and Sets (property)', () => {
    fc.assert(
      fc.property(state, fc.integer(), (v, seed) => {
        assert.equal(canonicalHash(reordered(v, seed)), canonicalHash(v));
      }),
    );
  });

  it('hashes different states differently (property, compared by isDeepStrictEqual)', () => {
    fc.assert(
      fc.property(state, state, (a, b) => {
        fc.pre(!isDeepStrictEqual(a, b));
        // -0 and 0 differ for isDeepStrictEqual and for the hash alike; nothing to exclude.
        assert.notEqual(canonicalHash(a), canonicalHash(b));
      }),
    );
  });

  it('is SHA-256 over tagged, length-prefixed bytes (hand-built encoding)', () => {
    const value = new Map<number, unknown>([
      [2, { b: 1n, a: 'x' }],
      [1, Uint8Array.of(0xaa)],
    ]);
    const entry1 = [4, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0xaa]; // 1.0, bytes aa
    const entry2 = [
      ...[4, 0x40, 0, 0, 0, 0, 0, 0, 0], // 2.0
      ...[9, 0, 0, 0, 2], // object, two keys in sorted order
      ...[0, 0, 0, 1, 0x61, 6, 0, 0, 0, 1, 0x78], // "a": "x"
      ...[0, 0, 0, 1, 0x62, 5, 0, 0, 0, 1, 0x31], // "b": 1n (hex digits)
    ];
    const expected = Uint8Array.from([
      10,
      ...[0, 0, 0, 2],
      ...[0, 0, 0, entry1.length, ...entry1],
      ...[0, 0, 0, entry2.length, ...entry2],
    ]);
    assert.deepEqual(canonicalEncoding(value), expected);
    assert.equal(canonicalHash(value), createHash('sha256').update(expected).digest('hex'));
  });

  it('treats a property holding undefined as absent, and keeps types apart', () => {
    assert.equal(canonicalHash({ a: 1, b: undefined }), canonicalHash({ a: 1 }));
    assert.notEqual(canonicalHash(1), canonicalHash(1n));
    assert.notEqual(canonicalHash('1'), canonicalHash(1));
    assert.notEqual(canonicalHash([1, 2]), canonicalHash(new Set([1, 2])));
    assert.notEqual(canonicalHash(Uint8Array.of(1)), canonicalHash(Uint16Array.of(1)));
    assert.notEqual(canonicalHash(['ab', 'c']), canonicalHash(['a', 'bc']));
  });

  it('refuses what is not plain data, naming where it is', () => {
    assert.throws(
      () => canonicalHash({ tdis: new Map([[3, { cb: () => 0 }]]) }),
      (e: unknown) => e instanceof TypeError && e.message.startsWith('$.tdis.get(3).cb:'),
    );
    class Live {}
    assert.throws(() => canonicalHash([new Live()]), /\$\[0\]: a Live instance/);
  });
});
