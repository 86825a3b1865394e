/**
 * The IOMMU (platform/iommu.ts, iommu-secure.ts): the host's domains map only shared memory,
 * attach and map refusals with their errno, and the TSM's trusted DMA context life cycle
 * (TDH.DMAR.ADD, TDG.DMAR.ACCEPT, TDH.DMAR.BLOCK, TDH.DMAR.REMOVE); every refusal leaves the
 * state's canonical hash unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createIommu,
  type IommuState,
  iommuAttach,
  iommuDomainAlloc,
  iommuMap,
  iommuUnmap,
} from '../../src/platform/iommu.ts';
import {
  secureDmaAccept,
  secureDmaAdd,
  secureDmaBlock,
  secureDmaRemove,
} from '../../src/platform/iommu-secure.ts';
import { assignFirmware, assignPrivate, createMemory } from '../../src/platform/memory.ts';
import { pfnCount } from '../../src/platform/pfn-table.ts';
import type { Outcome } from '../../src/platform/result.ts';
import { canonicalHash } from '../../src/world/hash.ts';

const BASE = 0x8000_0000n;
const pfn = (i: number) => (BASE >> 12n) + BigInt(i);

function expectRefusal(
  state: unknown,
  run: () => Outcome<{ ok: true } | { ok: false; error: string; reason: string }>,
  error: string,
  reason?: RegExp,
): void {
  const before = canonicalHash(state);
  const o = run();
  assert.equal(o.result.ok, false);
  if (o.result.ok) return;
  assert.equal(o.result.error, error);
  if (reason) assert.match(o.result.reason, reason);
  assert.deepEqual(o.events, [
    { kind: 'refused', op: (o.events[0] as { op: string }).op, error, reason: o.result.reason },
  ]);
  assert.equal(canonicalHash(state), before);
}

describe('platform/iommu: host tables', () => {
  it('maps shared pages and refuses private and firmware pages (the host cannot map private memory)', () => {
    const mem = createMemory([{ base: BASE, size: 8n * 4096n }]);
    const io = createIommu();
    const { result } = iommuDomainAlloc(io);
    assert.deepEqual(result, { ok: true, domain: 1 });
    assert.equal(iommuAttach(io, 0x100, 1).result.ok, true);
    const map = iommuMap(io, mem, 1, 0x10n, pfn(0), true);
    assert.deepEqual(map.events, [
      { kind: 'iommu', op: 'iommu_map', domain: 1, iovaPfn: 0x10n, hpfn: pfn(0), writable: true },
    ]);
    assignPrivate(mem, pfn(1), 'td1');
    assignFirmware(mem, pfn(2));
    const both = { io, mem };
    expectRefusal(both, () => iommuMap(io, mem, 1, 0x11n, pfn(1), true), 'EPERM', /private to td1/);
    expectRefusal(both, () => iommuMap(io, mem, 1, 0x11n, pfn(2), true), 'EPERM', /firmware/);
    expectRefusal(both, () => iommuMap(io, mem, 1, 0x11n, pfn(50), true), 'EFAULT');
    expectRefusal(both, () => iommuMap(io, mem, 1, 0x10n, pfn(3), true), 'EEXIST');
    expectRefusal(both, () => iommuMap(io, mem, 7, 0x11n, pfn(3), true), 'ENOENT');
    expectRefusal(both, () => iommuUnmap(io, 1, 0x11n), 'ENOENT');
    assert.equal(iommuUnmap(io, 1, 0x10n).result.ok, true);
    assert.equal(pfnCount(io.domains.get(1) ?? {}), 0);
  });

  it('attaches a requester to one domain at a time', () => {
    const io = createIommu();
    iommuDomainAlloc(io);
    iommuDomainAlloc(io);
    assert.equal(iommuAttach(io, 0x100, 1).result.ok, true);
    assert.equal(iommuAttach(io, 0x100, 1).result.ok, true, 'the same domain again is fine');
    expectRefusal(io, () => iommuAttach(io, 0x100, 2), 'EBUSY');
    expectRefusal(io, () => iommuAttach(io, 0x101, 9), 'ENOENT');
  });
});

describe('platform/iommu-secure: trusted DMA contexts', () => {
  it('runs add -> accept -> block -> remove and refuses every step out of order', () => {
    const io: IommuState = createIommu();
    expectRefusal(io, () => secureDmaAccept(io, 0x100, 'td1'), 'ENOENT');
    expectRefusal(io, () => secureDmaBlock(io, 0x100), 'ENOENT');
    const add = secureDmaAdd(io, 0x100, 'td1');
    assert.deepEqual(add.events, [
      { kind: 'secure-dma', op: 'TDH.DMAR.ADD', rid: 0x100, vm: 'td1' },
    ]);
    expectRefusal(io, () => secureDmaAdd(io, 0x100, 'td2'), 'EEXIST');
    expectRefusal(io, () => secureDmaAccept(io, 0x100, 'td2'), 'EPERM', /bound to td1/);
    expectRefusal(io, () => secureDmaRemove(io, 0x100), 'EINVAL', /not blocked/);
    assert.equal(secureDmaAccept(io, 0x100, 'td1').result.ok, true);
    assert.deepEqual(io.secure.get(0x100), { vm: 'td1', state: 'accepted' });
    expectRefusal(io, () => secureDmaAccept(io, 0x100, 'td1'), 'EINVAL');
    assert.equal(secureDmaBlock(io, 0x100).result.ok, true);
    expectRefusal(io, () => secureDmaBlock(io, 0x100), 'EINVAL');
    expectRefusal(io, () => secureDmaAccept(io, 0x100, 'td1'), 'EINVAL');
    assert.equal(secureDmaRemove(io, 0x100).result.ok, true);
    assert.equal(io.secure.size, 0);
  });
});
