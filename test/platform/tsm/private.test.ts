/**
 * The TSM core's rules over the hardware, with teeio's device attached to the fabric:
 * private MMIO only for a TDI bound to the VM and inside a TEE range of its report; trusted
 * DMA only after the guest accepted it and the TDI runs; nothing private survives release.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../../src/crypto/random.ts';
import { nic } from '../../../src/device/profiles/index.ts';
import type { PlatformEvent } from '../../../src/platform/events.ts';
import { fabricUpstream } from '../../../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { ownerOf, readPhys } from '../../../src/platform/memory.ts';
import { pfnValues } from '../../../src/platform/pfn-table.ts';
import { createPlatform, fabricViews } from '../../../src/platform/platform.ts';
import { DEFAULT_MEMORY } from '../../../src/platform/state.ts';
import { tsmConnect, tsmDeviceCreate } from '../../../src/platform/tsm/device.ts';
import { createTsmEnv } from '../../../src/platform/tsm/link.ts';
import {
  tsmMemAccept,
  tsmMemAdd,
  tsmMemBlock,
  tsmMemRemove,
} from '../../../src/platform/tsm/private-memory.ts';
import {
  tsmMmioAccept,
  tsmMmioBlock,
  tsmMmioMap,
  tsmMmioUnmap,
  tsmTrack,
} from '../../../src/platform/tsm/private-mmio.ts';
import { tsmTdiRelease } from '../../../src/platform/tsm/release.ts';
import {
  tsmTdiBind,
  tsmTdiCreate,
  tsmTdiLock,
  tsmTdiReport,
  tsmTdiStart,
  tsmTdiStop,
} from '../../../src/platform/tsm/tdi.ts';
import { tsmDmaAccept, tsmDmaAdd } from '../../../src/platform/tsm/trusted-dma.ts';
import { tsmVmCreate, tsmVmFinalize } from '../../../src/platform/tsm/vm.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';

const MEM_PFN = DEFAULT_MEMORY[0].base >> PAGE_SHIFT;
const GFN_MEM = 0x100n;
const GFN_MMIO = 0x200n;

async function lockedWorld(seed: string) {
  const random = seededRandom(seed);
  const dev = await createTdispDevice({ profile: nic, enumerate: true, random });
  const env = createTsmEnv(requesterConfig({ trustAnchors: [dev.root], random }), random);
  const p = createPlatform(undefined);
  const events: PlatformEvent[] = [];
  const views = fabricViews(
    p,
    (rid, streamId) =>
      rid >>> 8 === dev.host.busNumber() && dev.device.streamState(streamId) === 'Secure',
  );
  dev.device.attachUpstream(fabricUpstream(p.hw, views, (e) => events.push(e)));
  const carrier = dev.doeTransport();
  const fn0 = dev.device.requesterId(0);
  const tdi = dev.tdis()[0];
  const rid = tdi.requesterId;
  tsmDeviceCreate(p, fn0);
  assert.ok((await tsmConnect(p, env, fn0, carrier)).ok);
  assert.ok(tsmTdiCreate(p, fn0, tdi.interfaceId).ok);
  tsmVmCreate(p, 'td1');
  tsmVmCreate(p, 'td2');
  tsmVmFinalize(p, 'td1');
  assert.ok(tsmTdiBind(p, rid, 'td1').ok);
  assert.ok((await tsmTdiLock(p, env, rid, carrier)).ok);
  assert.ok((await tsmTdiReport(p, env, rid, carrier)).ok);
  const ranges = p.tsm.tdis.get(rid)?.report?.ranges ?? [];
  const tee = ranges.find((r) => !r.nonTee && !r.msixTable && !r.msixPba);
  assert.ok(tee, 'the report has a TEE range');
  return { dev, env, p, carrier, rid, tdi, events, teePfn: tee.base >> PAGE_SHIFT, ranges };
}

function refused(p: object, reason: string, r: { ok: boolean; reason?: string }, before: string) {
  assert.equal(r.ok, false, `expected ${reason}`);
  assert.equal(r.reason, reason);
  assert.equal(canonicalHash(p), before, `${reason}: state changed`);
}

describe('TSM core: private MMIO, trusted DMA and release', () => {
  it('maps private MMIO only for the bound VM and only inside the report', async () => {
    const { p, rid, teePfn, ranges } = await lockedWorld('private mmio');
    let h = canonicalHash(p);
    refused(p, 'wrong-vm', tsmMmioMap(p, 'td2', rid, GFN_MMIO, teePfn), h);
    // A page a gigabyte past every range's start: in no range.
    let outside = 1n << 30n;
    for (const r of ranges) if (r.base + (1n << 30n) > outside) outside = r.base + (1n << 30n);
    refused(p, 'not-in-report', tsmMmioMap(p, 'td1', rid, GFN_MMIO, outside >> PAGE_SHIFT), h);
    assert.ok(tsmMmioMap(p, 'td1', rid, GFN_MMIO, teePfn).ok);
    h = canonicalHash(p);
    refused(p, 'page-mapped', tsmMmioMap(p, 'td1', rid, GFN_MMIO + 1n, teePfn), h);
    assert.equal(p.hw.septs.get('td1')?.entries[Number(GFN_MMIO)]?.state, 'pending');
    assert.ok(tsmMmioAccept(p, 'td1', GFN_MMIO).ok);
    assert.equal(p.hw.septs.get('td1')?.entries[Number(GFN_MMIO)]?.state, 'present');
    // Removal needs a block and a tracked flush, in that order.
    h = canonicalHash(p);
    const early = tsmMmioUnmap(p, 'td1', GFN_MMIO);
    refused(p, 'sept-state', early, h);
    assert.match(!early.ok ? early.detail : '', /TDX_GPA_RANGE_NOT_BLOCKED/);
    assert.ok(tsmMmioBlock(p, 'td1', GFN_MMIO).ok);
    h = canonicalHash(p);
    const untracked = tsmMmioUnmap(p, 'td1', GFN_MMIO);
    refused(p, 'sept-state', untracked, h);
    assert.match(!untracked.ok ? untracked.detail : '', /TDX_TLB_TRACKING_NOT_DONE/);
    assert.ok(tsmTrack(p, 'td1').ok);
    assert.ok(tsmMmioUnmap(p, 'td1', GFN_MMIO).ok);
    assert.equal(p.tsm.tdis.get(rid)?.mmio.size, 0);
  });

  it('T=1 DMA lands in private memory only once the guest accepted it and the TDI runs', async () => {
    const { dev, env, p, carrier, rid, tdi, events } = await lockedWorld('trusted dma');
    assert.ok(tsmMemAdd(p, 'td1', GFN_MEM, MEM_PFN).ok);
    assert.deepEqual(ownerOf(p.hw.memory, MEM_PFN), { kind: 'private', vm: 'td1' });
    const h = canonicalHash(p);
    refused(p, 'page-owner', tsmMemAdd(p, 'td2', GFN_MEM, MEM_PFN), h);
    assert.ok(tsmDmaAdd(p, 'td1', rid).ok);
    assert.ok((await tsmTdiStart(p, env, rid, carrier)).ok);
    const data = new Uint8Array(64).fill(0x5a);
    const gpa = GFN_MEM << PAGE_SHIFT;

    // Not accepted yet (and the guest's page is still pending): refused, with the reason.
    const before = dev.device.dmaWrite(tdi.fn, gpa, data);
    assert.equal(before.issued && before.t, true);
    assert.notEqual(before.issued && before.status, 'SC');
    assert.ok(
      events.some((e) => e.kind === 'transaction' && e.reason === 'secure-dma-not-accepted'),
    );

    assert.ok(tsmDmaAccept(p, 'td1', rid).ok);
    assert.ok(tsmMemAccept(p, 'td1', GFN_MEM).ok);
    const w = dev.device.dmaWrite(tdi.fn, gpa, data);
    assert.equal(w.issued && w.status, 'SC');
    assert.deepEqual(readPhys(p.hw.memory, MEM_PFN << PAGE_SHIFT, 64), data);
  });

  it('release leaves nothing private of the TDI; the memory page goes back scrubbed', async () => {
    const { env, p, carrier, rid, teePfn } = await lockedWorld('release');
    tsmMemAdd(p, 'td1', GFN_MEM, MEM_PFN);
    assert.ok(tsmMmioMap(p, 'td1', rid, GFN_MMIO, teePfn).ok);
    assert.ok(tsmDmaAdd(p, 'td1', rid).ok);
    assert.ok(tsmDmaAccept(p, 'td1', rid).ok);
    assert.ok((await tsmTdiStart(p, env, rid, carrier)).ok);
    const h = canonicalHash(p);
    refused(p, 'tdi-state', tsmTdiRelease(p, rid), h);
    assert.ok((await tsmTdiStop(p, env, rid, carrier)).ok);
    assert.ok(tsmTdiRelease(p, rid).ok);
    const t = p.tsm.tdis.get(rid);
    assert.equal(t?.vm, undefined);
    assert.equal(t?.mmio.size, 0);
    assert.equal(p.hw.iommu.secure.has(rid), false);
    assert.equal(p.tsm.vms.get('td1')?.tdis.size, 0);
    const mmio = pfnValues(p.hw.septs.get('td1')?.entries ?? {}).filter(
      (e) => e.target.kind === 'mmio',
    );
    assert.deepEqual(mmio, []);

    // The private memory page: block, track, remove; it is shared again and reads zero.
    assert.ok(tsmMemBlock(p, 'td1', GFN_MEM).ok);
    tsmTrack(p, 'td1');
    assert.ok(tsmMemRemove(p, 'td1', GFN_MEM).ok);
    assert.deepEqual(ownerOf(p.hw.memory, MEM_PFN), { kind: 'shared' });
  });
});
