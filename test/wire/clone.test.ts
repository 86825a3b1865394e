/**
 * clonePlain (src/wire/clone.ts), the copy world snapshots are made with: a deep copy that
 * shares nothing with its source but what it is told to share, keeps an object reached twice
 * as one object, and copies what structuredClone copies the way it does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
});
