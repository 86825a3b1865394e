/**
 * clonePlain (src/wire/clone.ts), the copy world snapshots are made with: a deep copy that
 * shares nothing with its source but what it is told to share, keeps an object reached twice
 * as one object, and copies what structuredClone copies the way it does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { clonePlain } from '../../src/wire/clone.ts';

describe('clonePlain', () => {
  it('copies plain data deeply: later changes to the source do not reach the copy', () => {
    const src = {
      n: 1,
      big: 2n,
      s: 'x',
      u: undefined,
      bytes: new Uint8Array([1, 2, 3]),
      list: [{ a: 1 }, [2, 3]],
      map: new Map<bigint, { v: number }>([[1n, { v: 1 }]]),
      set: new Set(['a']),
    };
    const c = clonePlain(src);
    assert.deepEqual(c, structuredClone(src));
    src.bytes[0] = 9;
    src.list[0] = { a: 2 };
    (src.list[1] as number[]).push(4);
    src.map.get(1n)!.v = 2;
    src.set.add('b');
    assert.deepEqual(c, {
      n: 1,
      big: 2n,
      s: 'x',
      u: undefined,
      bytes: new Uint8Array([1, 2, 3]),
      list: [{ a: 1 }, [2, 3]],
      map: new Map([[1n, { v: 1 }]]),
      set: new Set(['a']),
    });
  });

  it('keeps an object reached twice as one object, as structuredClone does', () => {
    const key = { k: new Uint8Array([1]) };
    const c = clonePlain({ current: key, data: key, again: key.k });
    assert.equal(c.current, c.data);
    assert.equal(c.again, c.current.k);
    assert.notEqual(c.current, key);
  });

  it('copies a Buffer into memory of its own, and a window with its whole buffer', () => {
    const b = Buffer.from([1, 2, 3]);
    const whole = new Uint8Array([1, 2, 3, 4]);
    const c = clonePlain({ b, w: whole.subarray(1, 3) });
    b[0] = 9;
    whole[1] = 9;
    assert.deepEqual([...c.b], [1, 2, 3]);
    assert.deepEqual([...c.w], [2, 3]);
    assert.equal(c.w.byteOffset, 1);
    assert.equal(c.w.buffer.byteLength, 4);
  });

  it('hands over what it is told never changes, and copies the rest', () => {
    const image = { bytes: new Uint8Array(8) };
    const c = clonePlain({ image, live: { bytes: new Uint8Array(8) } }, new Set([image]));
    assert.equal(c.image, image);
    assert.notEqual(c.live.bytes, image.bytes);
  });

  describe('with prev, an earlier copy of the same record', () => {
    const record = () => ({
      n: 1,
      pages: { 16: new Uint8Array([1, 2]), 17: new Uint8Array([3]) } as Record<number, Uint8Array>,
      map: new Map<number, { v: number }>([
        [1, { v: 1 }],
        [2, { v: 2 }],
      ]),
      list: [{ a: 1 }, { a: 2 }],
    });

    it('is prev itself when nothing changed, and shares every unchanged part', () => {
      const live = record();
      const prev = clonePlain(live);
      assert.equal(clonePlain(live, undefined, prev), prev);
      live.pages[17][0] = 9;
      live.map.set(3, { v: 3 });
      const c = clonePlain(live, undefined, prev);
      assert.notEqual(c, prev);
      assert.notEqual(c.pages, prev.pages);
      assert.equal(c.pages[16], prev.pages[16]);
      assert.deepEqual([...c.pages[17]], [9]);
      assert.notEqual(c.map, prev.map);
      assert.equal(c.map.get(1), prev.map.get(1), 'an entry is matched by its key');
      assert.equal(c.list, prev.list);
      assert.deepEqual(c, structuredClone(live));
      live.list.push({ a: 3 });
      const longer = clonePlain(live, undefined, c);
      assert.notEqual(longer.list, c.list);
      assert.equal(longer.list[1], c.list[1], 'an element is matched by its index');
      live.pages[16][0] = 7;
      assert.deepEqual([...c.pages[16]], [1, 2], 'the copy does not follow the source');
    });

    it('does not hand over a record whose keys or entries are in another order', () => {
      const prev = clonePlain({
        o: { a: 1, b: 2 },
        m: new Map([
          [1, 1],
          [2, 2],
        ]),
      });
      const c = clonePlain(
        {
          o: { b: 2, a: 1 },
          m: new Map([
            [2, 2],
            [1, 1],
          ]),
        },
        undefined,
        prev,
      );
      assert.notEqual(c.o, prev.o);
      assert.deepEqual(Object.keys(c.o), ['b', 'a']);
      assert.notEqual(c.m, prev.m);
      assert.deepEqual([...c.m.keys()], [2, 1]);
    });

    it('has exactly the sharing the source has, whatever prev shares', () => {
      const key = { k: new Uint8Array([1]) };
      const aliased = clonePlain({ current: key, data: key });
      // The source no longer shares (a key update made a new schedule with the same bytes).
      const c = clonePlain(
        { current: { k: new Uint8Array([1]) }, data: { k: new Uint8Array([1]) } },
        undefined,
        aliased,
      );
      assert.notEqual(c.current, c.data);
      c.current.k[0] = 5;
      assert.equal(c.data.k[0], 1);
      // The source shares and prev does not: the copy shares.
      const apart = clonePlain({
        current: { k: new Uint8Array([1]) },
        data: { k: new Uint8Array([1]) },
      });
      const again = clonePlain({ current: key, data: key }, undefined, apart);
      assert.equal(again.current, again.data);
    });

    it('copies like a plain copy for any record and any prev (property)', () => {
      const value = fc.letrec((tie) => ({
        leaf: fc.oneof(
          fc.integer(),
          fc.double(),
          fc.constant(-0),
          fc.string({ maxLength: 3 }),
          fc.bigInt(),
          fc.boolean(),
          fc.constant(undefined),
          fc.constant(null),
          fc.uint8Array({ maxLength: 6 }),
        ),
        node: fc.oneof(
          { depthSize: 'small' },
          tie('leaf'),
          fc.array(tie('node'), { maxLength: 4 }),
          fc.dictionary(fc.constantFrom('a', 'b', 'c', '1', '20'), tie('node'), { maxKeys: 4 }),
          fc
            .array(fc.tuple(fc.integer({ min: 0, max: 4 }), tie('node')), { maxLength: 4 })
            .map((es) => new Map(es)),
        ),
      })).node;
      fc.assert(
        fc.property(value, value, (x, other) => {
          const expected = structuredClone(x);
          for (const prev of [clonePlain(x), clonePlain(other)]) {
            const c = clonePlain(x, undefined, prev as typeof x);
            assert.deepEqual(c, expected);
          }
        }),
        { numRuns: 500 },
      );
    });
  });
});
