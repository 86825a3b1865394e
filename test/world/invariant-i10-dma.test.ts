/**
 * I10's device side (design question 9, switch droppedDma): a T=1 DMA of a TDI the guest runs
 * that the fabric drops while the guest goes on reading RUN is a silent integrity breach (its
 * buffer keeps what it held, which it takes for the device's data). On TDX the host drops it
 * with TDH.DMAR.BLOCK: under 'silent' I10 breaks at the guest's DMA; under 'report' the TSM
 * takes the TDI to ERROR, the guest's next read tells it, and I10 holds. A drop whose page the
 * host took is a denial of service (the guest's own access to the page faults), as a blocked
 * MMIO page is in I10's firmware half; and a guest that does not run the TDI is not misled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CcaState } from '../../src/platform/cca/state.ts';
import { vdevDmaOff } from '../../src/platform/cca/vdev-dma.ts';
import type { TransactionEvent } from '../../src/platform/events.ts';
import type { Platform } from '../../src/platform/platform.ts';
import { checkInvariants, type Violation } from '../../src/world/invariants.ts';
import type { StepResult } from '../../src/world/ops/index.ts';
import { World, type WorldStep } from '../../src/world/world.ts';
import { vfioUserThrough } from '../support/vfio-user.ts';

/** The vfio-user role's lifecycle up to userspace's DMA buffer (docs/roles.md). */
const TO_RUN = vfioUserThrough('guest.userspace/map');
const BLOCK: WorldStep = {
  do: 'host.tsm-abi/call',
  args: { call: 'TDH.DMAR.BLOCK', functionId: 1 },
};
const DMA: WorldStep = { do: 'guest.userspace/dma', args: { value: 0x3c } };

async function running(droppedDma: 'silent' | 'report', flavour: 'tdx' | 'cca' = 'tdx') {
  const w = await World.create({
    flavour,
    seed: 'i10 dma',
    switches: { droppedDma },
    vms: [{ name: 'td1', devices: [{ tdi: 1, role: 'vfio-user' }] }],
  });
  for (const s of TO_RUN) assert.equal((await w.perform({ do: s })).ok, true, s);
  return w;
}

/** Performs `step` and checks the invariants as the scenario runner does. */
async function checked(w: World, step: WorldStep): Promise<[StepResult, Violation[]]> {
  const before = w.frozenView();
  const r = await w.perform(step);
  return [r, checkInvariants(w.view(), r.events, before)];
}

describe('I10: a dropped T=1 DMA the running guest is not told of', () => {
  it("breaks under 'silent' at the guest's DMA after TDH.DMAR.BLOCK", async () => {
    const w = await running('silent');
    const [b, none] = await checked(w, BLOCK);
    assert.equal(b.ok, true, 'the module lets the host block the context of a running TDI');
    assert.deepEqual(none, [], 'the block alone breaks nothing: no data was lost yet');
    const [r, vs] = await checked(w, DMA);
    assert.equal(r.ok, false);
    assert.equal(r.errno, 'EIO');
    assert.deepEqual(
      vs.map((v) => [v.invariant, v.name, v.component]),
      [['I10', 'no-silent-unmap', 'platform/iommu']],
    );
    assert.match(vs[0].detail, /T=1 MemWr of 0x0001 at 0x8000 dropped \(secure-dma-blocked\)/);
    assert.match(vs[0].detail, /td1 still reads RUN/);
  });

  it("holds under 'report': the TSM has the TDI in ERROR, which the guest reads next", async () => {
    const w = await running('report');
    await checked(w, BLOCK);
    const [r, vs] = await checked(w, DMA);
    assert.equal(r.ok, false);
    assert.ok(r.events.some((e) => e.kind === 'dma-fault'));
    assert.deepEqual(vs, []);
    assert.equal(w.pw.p.tsm.tdis.get(w.rid(1))?.state, 'ERROR');
  });

  it("the same drop with the guest's record not in RUN is not counted", async () => {
    const w = await running('silent');
    await checked(w, BLOCK);
    const before = w.frozenView();
    const r = await w.perform(DMA);
    const after = w.view();
    for (const g of after.guests?.values() ?? [])
      for (const d of g.devices.values()) d.tsm = 'locked';
    assert.deepEqual(checkInvariants(after, r.events, before), []);
  });

  it("a drop whose page the host took is a denial of service: the guest's access faults", async () => {
    const w = await running('silent');
    // KVM_SET_USER_MEMORY_REGION2 deleting the guest_memfd RAM slot: the private pages go.
    const del = { slot: 0, flags: 4, fd: 4, gpa: '0x0', size: 0 };
    const [m] = await checked(w, { do: 'host.kvm/memslot', vm: 'td1', args: del });
    assert.equal(m.ok, true, m.detail);
    const [r, vs] = await checked(w, DMA);
    assert.equal(r.ok, false);
    const refused = r.events.filter(
      (e): e is TransactionEvent => e.kind === 'transaction' && e.t === true && e.verdict !== 'SC',
    );
    assert.deepEqual(
      refused.map((e) => e.reason),
      ['sept-not-mapped'],
    );
    assert.deepEqual(vs, []);
  });

  it('on CCA a VDEV whose DMA the RMM disabled tells the Realm (RSI_VDEV_GET_INFO)', async () => {
    const w = await running('silent', 'cca');
    // What RMI_VDEV_UNLOCK does at once, before RMI_VDEV_COMMUNICATE moves the VDEV on.
    const p = w.pw.p as Platform<CcaState>;
    const v = p.vendor.vdevs.get(w.rid(1));
    assert.equal(v?.state, 'VDEV_STARTED');
    if (v) vdevDmaOff(p, v);
    const [r, vs] = await checked(w, DMA);
    assert.equal(r.ok, false);
    assert.deepEqual(vs, []);
  });
});
