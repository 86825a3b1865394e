/** Kept results of pure cryptographic functions: copies in and out, the bound, the keys. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyBytes, KeptResults, keptKey } from '../../src/crypto/kept.ts';

describe('KeptResults', () => {
  it('hands out copies: wiping what was handed out leaves the kept value', () => {
    const k = new KeptResults<Uint8Array>(4, copyBytes);
    const v = new Uint8Array([1, 2, 3]);
    k.set('a', v);
    v.fill(0);
    const out = k.get('a')!;
    out.fill(0);
    assert.deepEqual(k.get('a'), new Uint8Array([1, 2, 3]));
  });

  it('keeps the latest entries up to its bound, and takes entries from another', () => {
    const k = new KeptResults<number>(2);
    k.set('a', 1);
    k.set('b', 2);
    k.set('c', 3);
    assert.equal(k.get('a'), undefined);
    const other = new KeptResults<number>(2);
    other.keep(k.entries());
    assert.deepEqual(other.entries(), [
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('keys differ when the same bytes are split differently', () => {
    const ab = new Uint8Array([1, 2]);
    assert.notEqual(
      keptKey('x', ab, new Uint8Array([3])),
      keptKey('x', new Uint8Array([1]), new Uint8Array([2, 3])),
    );
    assert.notEqual(keptKey('x', ab), keptKey('y', ab));
  });
});
