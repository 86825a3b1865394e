/**
 * Host memory ownership (platform/memory.ts): one owner per page, conversions only from the
 * state each starts in, the scrub on private -> shared, canonical contents, and refusals that
 * leave the state's canonical hash unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assignFirmware,
  assignPrivate,
  createMemory,
  memoryPages,
  ownerOf,
  readPhys,
  releaseToShared,
  writePhys,
} from '../../src/platform/memory.ts';
import { pfnCount, pfnKeys } from '../../src/platform/pfn-table.ts';
import { canonicalHash } from '../../src/world/hash.ts';

const BASE = 0x8000_0000n;
const pfn = (i: number) => (BASE >> 12n) + BigInt(i);
const fresh = () => createMemory([{ base: BASE, size: 16n * 4096n }]);

describe('platform/memory', () => {
  it('starts every page of its ranges shared and refuses a bad layout', () => {
    const mem = fresh();
    assert.equal(memoryPages(mem), 16);
    assert.equal(pfnCount(mem.owners), 0, 'shared pages are not stored');
    assert.deepEqual(ownerOf(mem, pfn(0)), { kind: 'shared' });
    assert.equal(ownerOf(mem, pfn(16)), undefined);
    assert.throws(() => createMemory([{ base: BASE + 1n, size: 4096n }]), RangeError);
    assert.throws(
      () =>
        createMemory([
          { base: BASE, size: 8192n },
          { base: BASE + 4096n, size: 4096n },
        ]),
      /overlap/,
    );
  });

  it('assigns a shared page to one VM and refuses to give it to another', () => {
    const mem = fresh();
    const ok = assignPrivate(mem, pfn(1), 'td1');
    assert.equal(ok.result.ok, true);
    assert.deepEqual(ok.events, [
      { kind: 'memory', op: 'assign-private', hpfn: pfn(1), owner: { kind: 'private', vm: 'td1' } },
    ]);
    const before = canonicalHash(mem);
    const again = assignPrivate(mem, pfn(1), 'td2');
    assert.deepEqual(again.result, {
      ok: false,
      error: 'EBUSY',
      reason: `page 0x${pfn(1).toString(16)} is private to td1`,
    });
    assert.deepEqual(again.events, [
      {
        kind: 'refused',
        op: 'assign-private',
        error: 'EBUSY',
        reason: again.result.ok ? '' : again.result.reason,
      },
    ]);
    assert.equal(canonicalHash(mem), before);
    assert.deepEqual(ownerOf(mem, pfn(1)), { kind: 'private', vm: 'td1' });
  });

  it('refuses firmware pages and addresses that are not memory, state unchanged', () => {
    const mem = fresh();
    assert.equal(assignFirmware(mem, pfn(2)).result.ok, true);
    const before = canonicalHash(mem);
    const cases = [
      [assignPrivate(mem, pfn(2), 'td1'), 'EPERM'],
      [releaseToShared(mem, pfn(2)), 'EPERM'],
      [assignFirmware(mem, pfn(2)), 'EPERM'],
      [assignPrivate(mem, pfn(99), 'td1'), 'EFAULT'],
      [releaseToShared(mem, pfn(3)), 'EINVAL'],
    ] as const;
    for (const [o, error] of cases) {
      assert.equal(o.result.ok, false);
      assert.equal(!o.result.ok && o.result.error, error);
      assert.equal(o.events[0].kind, 'refused');
    }
    assert.equal(canonicalHash(mem), before);
  });

  it('scrubs a private page when it goes back to shared', () => {
    const mem = fresh();
    assignPrivate(mem, pfn(4), 'td1');
    const secret = new Uint8Array(64).fill(0xa5);
    writePhys(mem, (pfn(4) << 12n) + 100n, secret);
    assert.deepEqual(readPhys(mem, (pfn(4) << 12n) + 100n, 64), secret);
    const o = releaseToShared(mem, pfn(4));
    assert.equal(o.result.ok, true);
    assert.deepEqual(o.events, [
      {
        kind: 'memory',
        op: 'release-to-shared',
        hpfn: pfn(4),
        owner: { kind: 'shared' },
        scrubbed: true,
      },
    ]);
    assert.deepEqual(readPhys(mem, pfn(4) << 12n, 4096), new Uint8Array(4096));
    assert.equal(mem.data[Number(pfn(4))] !== undefined, false);
    assert.equal(canonicalHash(mem), canonicalHash(fresh()));
  });

  it('keeps contents canonical: a page written back to zero is dropped, writes cross pages', () => {
    const mem = fresh();
    const at = (pfn(5) << 12n) + 4090n;
    const bytes = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
    writePhys(mem, at, bytes);
    assert.deepEqual(pfnKeys(mem.data).sort(), [Number(pfn(5)), Number(pfn(6))]);
    assert.deepEqual(readPhys(mem, at, 12), bytes);
    writePhys(mem, at, new Uint8Array(12));
    assert.equal(pfnCount(mem.data), 0);
    assert.equal(canonicalHash(mem), canonicalHash(fresh()));
    assert.throws(() => writePhys(mem, pfn(20) << 12n, bytes), /not host memory/);
    assert.equal(pfnCount(mem.data), 0, 'a write reaching outside memory writes nothing');
  });
});
