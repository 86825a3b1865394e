/**
 * The invariants hold on every step of a real TDX lifecycle (connect, bind, private MMIO,
 * trusted DMA, RUN, the TD's T=1 traffic, stop, unmap, unbind), and each one breaks on the
 * record or event a flawed host, firmware or device would leave: a check that cannot fail
 * is no check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostOutcome } from '../../src/host/outcome.ts';
import { pciTsmStop, pciTsmUnbind } from '../../src/host/pci-tsm/core.ts';
import { pfnKey } from '../../src/platform/ids.ts';
import {
  checkInvariants,
  INVARIANTS,
  type InvariantView,
  type StepEvent,
} from '../../src/world/invariants.ts';
import {
  connectedTd,
  D,
  TD,
  type TdxWorld,
  tdAccess,
  tdxWorld,
  toRun,
} from '../host/tsm/tdx-world.ts';
import { ok } from '../host/world.ts';

const view = (w: TdxWorld): InvariantView => ({ flavour: 'tdx', p: w.p, h: w.h, dev: w.dev });
const frozen = (w: TdxWorld): InvariantView => ({
  ...view(w),
  p: structuredClone(w.p),
  h: structuredClone(w.h),
});
const names = (vs: { invariant: string }[]) => [...new Set(vs.map((v) => v.invariant))];

/** A TDX world in RUN with private MMIO mapped and trusted DMA accepted. */
async function running() {
  const w = await tdxWorld('invariants');
  await connectedTd(w);
  const run = await toRun(w);
  return { w, ...run };
}

describe('security invariants', () => {
  it('every invariant has a SYSTEM.md number, a name and its sentence', () => {
    for (const inv of INVARIANTS) {
      assert.match(inv.id, /^I\d+$/);
      assert.match(inv.name, /^[a-z0-9-]+$/);
      assert.ok(inv.text.length > 20);
    }
  });

  it('hold on every step of a TDX lifecycle and its teardown in TDX order', async () => {
    const { w, gfns } = await running();
    const step = async (o: HostOutcome | Promise<HostOutcome>, why: string) => {
      const before = frozen(w);
      const r = await o;
      assert.equal(r.ok, true, why);
      assert.deepEqual(checkInvariants(view(w), r.events as StepEvent[], before), [], why);
    };
    assert.deepEqual(checkInvariants(view(w), []), []);
    const wr = tdAccess(w, gfns[0], new Uint8Array([1, 2, 3, 4]));
    assert.equal(wr.result.status, 'SC');
    assert.deepEqual(checkInvariants(view(w), wr.events), [], 'T=1 write in RUN');
    await step(pciTsmStop(w.m, w.h, { rid: w.rid }), 'stop');
    for (const gfn of gfns) await step(D.unmapPrivateMmio(w.m, w.h, { vm: TD, gfn }), 'unmap');
    await step(pciTsmUnbind(w.m, w.h, { rid: w.rid }), 'unbind');
  });

  it('I1 breaks on a host mmap of a locked BAR and on a host access completing on a private page', async () => {
    const { w, pfns } = await running();
    const v = view(w);
    v.h?.vfio.devices.set(99, {
      fd: 99,
      rid: w.rid,
      claimed: false,
      memoryEnabled: true,
      power: 'D0',
      dmaBufs: [],
      mmapped: [0],
    });
    const address = pfns[0] << 12n;
    const completed: StepEvent = {
      kind: 'transaction',
      domain: 'host',
      request: 'MemRd',
      t: false,
      address,
      length: 4,
      verdict: 'SC',
    };
    const found = checkInvariants(v, [completed]);
    assert.deepEqual(names(found), ['I1']);
    assert.equal(found.length, 2);
    // The real fabric refuses that access, and the refusal keeps I1.
    v.h?.vfio.devices.delete(99);
    const real = w.m.mmioRead(address, 4);
    assert.notEqual(real.result.status, 'SC');
    assert.deepEqual(checkInvariants(v, real.events), []);
  });

  it('I2 breaks on a KVM mirror entry of a TDI bound to another VM', async () => {
    const { w, gfns } = await running();
    const vm = [...w.h.kvm.vms.values()][0] ?? {
      fd: 50,
      vm: 'td-other',
      type: 'confidential' as const,
      finalized: true,
      memslots: new Map(),
      privateGfns: new Set<bigint>(),
      mirror: new Map(),
      sharedMapped: new Set<bigint>(),
    };
    vm.vm = 'td-other';
    vm.mirror[pfnKey(gfns[0])] = { kind: 'mmio', pfn: 0n, rid: w.rid };
    w.h.kvm.vms.set(vm.fd, vm);
    const found = checkInvariants(view(w), []);
    assert.deepEqual(names(found), ['I2']);
    assert.match(found[0].detail, /bound to td1/);
  });

  it('I3 breaks on a revoked dma-buf still mapped by its importer', async () => {
    const { w } = await running();
    w.h.dmaBufs.bufs.set(7, {
      fd: 7,
      vfioFd: 3,
      rid: w.rid,
      bar: 0,
      ranges: [],
      private: true,
      state: 'revoked',
      importers: [{ kind: 'device', rid: 0x2, mapped: true }],
    });
    assert.deepEqual(names(checkInvariants(view(w), [])), ['I3']);
  });

  it("I3: KVM under 'phys-vec' is only notified (its slot's range is what it maps); under 'sg-table' its scatterlist is a mapping", async () => {
    const { w } = await running();
    w.h.dmaBufs.bufs.set(7, {
      fd: 7,
      vfioFd: 3,
      rid: w.rid,
      bar: 0,
      ranges: [],
      private: true,
      state: 'revoked',
      importers: [{ kind: 'kvm', vmFd: 4, slot: 1, mapped: true }],
    });
    assert.equal(w.h.switches.dmaBufPfns, 'phys-vec');
    assert.deepEqual(checkInvariants(view(w), []), []);
    w.h.switches.dmaBufPfns = 'sg-table';
    assert.deepEqual(names(checkInvariants(view(w), [])), ['I3']);
  });

  it('I4 breaks on T=1 traffic completing for a TDI outside RUN', async () => {
    const { w, gfns } = await running();
    ok(await pciTsmStop(w.m, w.h, { rid: w.rid }));
    // The real fabric refuses the TD's access now ...
    const real = tdAccess(w, gfns[0]);
    assert.notEqual(real.result.status, 'SC');
    assert.deepEqual(checkInvariants(view(w), real.events), []);
    // ... a fabric that let it through would break I4.
    const leaked = real.events.map((e) => ({ ...e, verdict: 'SC' as const, reason: undefined }));
    assert.deepEqual(names(checkInvariants(view(w), leaked)), ['I4']);
  });

  it('I6 breaks on RUN -> CONFIG_LOCKED and on ERROR left without STOP', () => {
    const v = { flavour: 'tdx' } as InvariantView;
    const ev = (from: string, to: string): StepEvent => ({
      kind: 'TDI_STATE',
      fn: 1,
      from,
      to,
      cause: 'x',
    });
    assert.deepEqual(INVARIANTS.find((i) => i.id === 'I6')?.check(v, [ev('RUN', 'ERROR')]), []);
    assert.equal(
      INVARIANTS.find((i) => i.id === 'I6')?.check(v, [ev('RUN', 'CONFIG_LOCKED')]).length,
      1,
    );
    assert.equal(INVARIANTS.find((i) => i.id === 'I6')?.check(v, [ev('ERROR', 'RUN')]).length, 1);
  });

  it('I8 breaks when a TDI is unbound with its private MMIO and trusted DMA left behind', async () => {
    const { w } = await running();
    const tdi = w.p.tsm.tdis.get(w.rid);
    assert.ok(tdi);
    tdi.vm = undefined;
    const found = checkInvariants(view(w), []);
    assert.deepEqual(names(found), ['I8']);
    assert.ok(found.some((f) => f.component === 'platform/sept'));
    assert.ok(found.some((f) => f.component === 'platform/iommu'));
  });

  it('I9 breaks when a private MMIO mapping disappears under a running TDI (TDX)', async () => {
    const { w, gfns } = await running();
    const before = frozen(w);
    delete w.p.hw.septs.get(TD)?.entries[Number(gfns[0])];
    const found = checkInvariants(view(w), [], before);
    // Gone under the running TD without a word to it: I10 too.
    assert.deepEqual(names(found), ['I9', 'I10']);
    // The same change on another flavour is not I9's business.
    assert.deepEqual(names(checkInvariants({ ...view(w), flavour: 'sev' }, [], before)), ['I10']);
  });

  it('I10 breaks when an accepted private MMIO page goes under the running guest untold, and holds when the guest is told', async () => {
    const { w, gfns } = await running();
    const before = frozen(w);
    const sept = w.p.hw.septs.get(TD);
    assert.equal(sept?.entries[Number(gfns[0])]?.state, 'present');
    delete sept?.entries[Number(gfns[0])];
    const found = checkInvariants({ ...view(w), flavour: 'cca' }, [], before);
    assert.deepEqual(names(found), ['I10']);
    assert.equal(found[0].component, 'platform/sept');
    // Told: the page destroyed (CCA's RIPAS_DESTROYED, the next access aborts) ...
    const e = before.p.hw.septs.get(TD)?.entries[Number(gfns[0])];
    assert.ok(e && sept);
    sept.entries[Number(gfns[0])] = { ...structuredClone(e), state: 'removed' };
    assert.deepEqual(checkInvariants({ ...view(w), flavour: 'cca' }, [], before), []);
    delete sept.entries[Number(gfns[0])];
    // ... or the TDI out of RUN (the guest's next access faults, its state read shows it).
    ok(await pciTsmStop(w.m, w.h, { rid: w.rid }));
    assert.deepEqual(checkInvariants({ ...view(w), flavour: 'cca' }, [], before), []);
  });

  it("I10 breaks when KVM's mirror drops a page the firmware still maps (a refusal hidden)", async () => {
    const { w, gfns } = await running();
    // KVM's record of the TD as KVM would keep it: the mapped frames in its mirror.
    const vm = {
      fd: 100,
      vm: TD,
      type: 'confidential' as const,
      finalized: true,
      memslots: new Map(),
      privateGfns: Object.fromEntries(gfns.map((g) => [Number(g), true as const])),
      mirror: Object.fromEntries(
        gfns.map((g) => [Number(g), { kind: 'mmio' as const, pfn: 0n, rid: w.rid }]),
      ),
      sharedMapped: {},
    };
    w.h.kvm.vms.set(vm.fd, vm);
    const gfn = gfns[0];
    const before = frozen(w);
    delete vm.mirror[Number(gfn)];
    const found = checkInvariants(view(w), [], before);
    assert.deepEqual(names(found), ['I10']);
    assert.equal(found[0].component, 'host/kvm');
  });

  it("I2 breaks on a secure-EPT MMIO entry of a page outside its TDI's BARs, or of a TDI bound to another VM", async () => {
    const { w, gfns } = await running();
    const e = w.p.hw.septs.get(TD)?.entries[Number(gfns[0])];
    assert.ok(e && e.target.kind === 'mmio');
    const target = e.target;
    e.target = { ...target, hpfn: 0x10n };
    assert.deepEqual(names(checkInvariants(view(w), [])), ['I2']);
    e.target = target;
    const tdi = w.p.tsm.tdis.get(w.rid);
    assert.ok(tdi);
    tdi.vm = 'another-td';
    assert.ok(
      checkInvariants(view(w), []).some(
        (f) => f.invariant === 'I2' && f.component === 'platform/sept',
      ),
    );
  });
});
