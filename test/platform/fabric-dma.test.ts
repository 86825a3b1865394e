/**
 * DMA routing alone (platform/fabric.ts, no device: requests as a device would send them):
 * T=0 through the host's IOMMU domain across page boundaries and its refusals (no domain, not
 * mapped, read-only), T=1 refusals in the order the fabric checks them (no stream, no or
 * unaccepted or blocked trusted context, no secure EPT, pending / blocked / removed / MMIO
 * entries), each with its completion status, and memory untouched by every refusal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FabricRefusal } from '../../src/platform/events.ts';
import { type FabricViews, fabricDmaRead, fabricDmaWrite } from '../../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../../src/platform/ids.ts';
import { iommuAttach, iommuDomainAlloc, iommuMap } from '../../src/platform/iommu.ts';
import { secureDmaAccept, secureDmaAdd, secureDmaBlock } from '../../src/platform/iommu-secure.ts';
import { assignPrivate, readPhys } from '../../src/platform/memory.ts';
import {
  rootPortAssociate,
  rootPortKeyProg,
  rootPortKeySetGo,
} from '../../src/platform/root-port.ts';
import {
  createSept,
  septAdd,
  septBlock,
  septFinalize,
  septRemove,
  septTrack,
} from '../../src/platform/sept.ts';
import { createPlatformHw, type PlatformHw } from '../../src/platform/state.ts';
import { streamSlots } from '../../src/platform/tsm/ide-km-client.ts';
import { canonicalHash } from '../../src/world/hash.ts';

const BASE = 0x1_0000_0000n >> PAGE_SHIFT;
const RID = 0x0108;
const everything: FabricViews = { tdiRunning: () => true, linkSecure: () => true };

function hwWithDomain(): { hw: PlatformHw; domain: number } {
  const hw = createPlatformHw();
  const { result } = iommuDomainAlloc(hw.iommu);
  assert.ok(result.ok);
  iommuAttach(hw.iommu, RID, result.domain);
  return { hw, domain: result.domain };
}

function refusedWrite(
  hw: PlatformHw,
  views: FabricViews,
  address: bigint,
  t: boolean,
  reason: FabricRefusal,
  status: 'UR' | 'CA',
) {
  const before = canonicalHash(hw);
  const o = fabricDmaWrite(hw, views, {
    requesterId: RID,
    address,
    data: Uint8Array.of(1, 2, 3),
    t,
  });
  assert.equal(o.result, status, reason);
  assert.equal(o.events.length, 1);
  const e = o.events[0];
  assert.ok(e.kind === 'transaction');
  assert.equal(e.reason, reason);
  assert.equal(e.verdict, status);
  assert.equal(canonicalHash(hw), before, `${reason}: nothing written`);
}

describe('platform/fabric DMA routing', () => {
  it('T=0: writes and reads across a page boundary through two IOMMU mappings', () => {
    const { hw, domain } = hwWithDomain();
    iommuMap(hw.iommu, hw.memory, domain, 0x10n, BASE + 5n, true);
    iommuMap(hw.iommu, hw.memory, domain, 0x11n, BASE + 2n, true);
    const data = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
    const address = (0x10n << PAGE_SHIFT) + 4046n; // 50 bytes in each page
    const w = fabricDmaWrite(hw, everything, { requesterId: RID, address, data, t: false });
    assert.equal(w.result, 'SC');
    assert.deepEqual(
      readPhys(hw.memory, ((BASE + 5n) << PAGE_SHIFT) + 4046n, 50),
      data.subarray(0, 50),
    );
    assert.deepEqual(readPhys(hw.memory, (BASE + 2n) << PAGE_SHIFT, 50), data.subarray(50));
    const r = fabricDmaRead(hw, everything, { requesterId: RID, address, length: 100, t: false });
    assert.deepEqual(r.result, { status: 'SC', data });
    assert.deepEqual(r.events, [
      {
        kind: 'transaction',
        domain: 'device',
        request: 'MemRd',
        t: false,
        address,
        length: 100,
        rid: RID,
        verdict: 'SC',
      },
    ]);
  });

  it('T=0 refusals: no domain, an unmapped second page (nothing of the first lands), read-only', () => {
    const { hw, domain } = hwWithDomain();
    iommuMap(hw.iommu, hw.memory, domain, 0x10n, BASE + 5n, true);
    iommuMap(hw.iommu, hw.memory, domain, 0x20n, BASE + 6n, false);
    refusedWrite(hw, everything, (0x10n << PAGE_SHIFT) + 4095n, false, 'iommu-not-mapped', 'UR');
    refusedWrite(hw, everything, 0x20n << PAGE_SHIFT, false, 'iommu-read-only', 'UR');
    assert.equal(
      fabricDmaRead(hw, everything, {
        requesterId: RID,
        address: 0x20n << PAGE_SHIFT,
        length: 4,
        t: false,
      }).result.status,
      'SC',
    );
    const other = createPlatformHw();
    refusedWrite(other, everything, 0n, false, 'no-iommu-domain', 'UR');
  });

  it('T=1 refusals in the order the fabric checks them', () => {
    const hw = createPlatformHw();
    const at = 0x40n << PAGE_SHIFT;
    refusedWrite(hw, everything, at, true, 'no-ide-stream', 'UR');
    rootPortAssociate(hw.rootPort, RID, 1);
    refusedWrite(hw, everything, at, true, 'ide-stream-insecure-root-port', 'UR');
    for (const s of streamSlots(0)) {
      rootPortKeyProg(hw.rootPort, 1, { ...s, key: [1, 2, 3, 4, 5, 6, 7, 8], ifv: [0, 0] });
      rootPortKeySetGo(hw.rootPort, 1, s);
    }
    const linkDown: FabricViews = { ...everything, linkSecure: () => false };
    refusedWrite(hw, linkDown, at, true, 'ide-stream-insecure-device', 'UR');
    refusedWrite(hw, everything, at, true, 'no-secure-dma-context', 'UR');
    secureDmaAdd(hw.iommu, RID, 'td1');
    refusedWrite(hw, everything, at, true, 'secure-dma-not-accepted', 'UR');
    secureDmaAccept(hw.iommu, RID, 'td1');
    const stopped: FabricViews = { ...everything, tdiRunning: () => false };
    refusedWrite(hw, stopped, at, true, 'tdi-not-run', 'CA');
    refusedWrite(hw, everything, at, true, 'no-secure-ept', 'UR');
    const sept = createSept('td1');
    hw.septs.set('td1', sept);
    refusedWrite(hw, everything, at, true, 'sept-not-mapped', 'UR');
    assignPrivate(hw.memory, BASE + 3n, 'td1');
    septFinalize(sept);
    septAdd(sept, 0x40n, { kind: 'memory', hpfn: BASE + 3n });
    refusedWrite(hw, everything, at, true, 'sept-pending', 'UR');
    septBlock(sept, 0x40n);
    refusedWrite(hw, everything, at, true, 'sept-blocked', 'UR');
    septTrack(sept);
    septRemove(sept, 0x40n, 'destroy');
    refusedWrite(hw, everything, at, true, 'sept-removed', 'CA');
    septAdd(sept, 0x41n, { kind: 'mmio', hpfn: 0xe0000n, rid: RID });
    refusedWrite(hw, everything, 0x41n << PAGE_SHIFT, true, 'sept-pending', 'UR');
    secureDmaBlock(hw.iommu, RID);
    refusedWrite(hw, everything, at, true, 'secure-dma-blocked', 'UR');
  });
});
