/**
 * What is left after an unbind, inspected in the world's own records for each flavour
 * (SYSTEM.md section 4 step 7, invariants 7 and 8): the guest locks, attests, accepts and
 * writes a secret through private MMIO, then unlocks; afterwards no private mapping of the
 * TDI's BAR pages remains (TDX's secure EPT, SEV's RMP assignment of MMIO pages, CCA's RTT
 * entries), no trusted DMA context, the device memory the guest wrote reads zero, the BAR
 * dma-bufs were revoked (KVM unmapped them) and are shared again, and the TDI is
 * CONFIG_UNLOCKED with no VM. After the VMM's release the dma-bufs are revoked for good; the
 * same end state when the VMM releases the device under the running guest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CcaPlatform } from '../../src/platform/cca/rmi-pdev.ts';
import { pfnEntries, pfnValues } from '../../src/platform/pfn-table.ts';
import type { SevPlatform } from '../../src/platform/sev/state.ts';
import { World } from '../../src/world/world.ts';

const SECRET = 0xcafef00d;

/** The uAPI and kernel operations the trace records from index `from` on. */
const uapiSince = (w: World, from: number) =>
  w.trace.records.slice(from).flatMap((r) => (r.kind === 'uapi' ? [r.event.op] : []));

async function ran(w: World, steps: string[]) {
  for (const d of steps) {
    const r = await w.perform({ do: d, args: d === 'guest.mmio-write' ? { value: SECRET } : {} });
    assert.equal(r.ok, true, `${d}: ${r.errno} ${r.detail}`);
  }
}

/** A world whose guest took the TDI to RUN and wrote SECRET to BAR0 + 0 with T=1. */
async function running(flavour: 'tdx' | 'sev' | 'cca', seed: string) {
  const w = await World.create({ flavour, seed });
  const fn = w.tdiFn({ do: '' });
  const rid = w.rid(fn);
  await ran(w, [
    'host.tsm/connect',
    'vmm.create-vm',
    'vmm.assign',
    'guest.tsm/lock',
    'guest.attest',
    'guest.tsm/accept',
    'guest.driver/bind',
    'guest.mmio-write',
  ]);
  // The secret is in the device, and private pages of the BAR are mapped.
  const t1 = w.pw.dev.device.mmioRead(fn, 0, 0, 4, { t: true });
  assert.deepEqual(t1.status === 'SC' && new DataView(t1.data.buffer).getUint32(0, true), SECRET);
  const mapped = pfnValues(w.pw.p.tsm.mmioPages).filter((o) => o.rid === rid);
  assert.ok(mapped.length > 0, 'private MMIO mapped while running');
  assert.ok(w.pw.p.hw.iommu.secure.has(rid), 'trusted DMA while running');
  assert.ok(bufsOf(w, rid).length > 0 && bufsOf(w, rid).every((b) => b.private));
  return { w, fn, rid };
}

const bufsOf = (w: World, rid: number) =>
  [...w.h.dmaBufs.bufs.values()].filter((b) => b.rid === rid);

/** Everything SYSTEM.md section 4 step 7 leaves behind, checked; the unbind from `from` on. */
function unbound(w: World, fn: number, rid: number, from: number): void {
  const flavour = w.flavour;
  // TDI unlocked and bound to no VM.
  assert.equal(w.pw.dev.dsm.tdiState(fn), 'CONFIG_UNLOCKED');
  assert.equal(w.pw.p.tsm.tdis.get(rid)?.vm, undefined);
  // No private mapping: the TSM's one-owner record of BAR pages, the secure EPT ...
  assert.deepEqual(
    pfnValues(w.pw.p.tsm.mmioPages).filter((o) => o.rid === rid),
    [],
  );
  assert.equal(w.pw.p.tsm.tdis.get(rid)?.mmio.size ?? 0, 0);
  for (const [vm, sept] of w.pw.p.hw.septs) {
    for (const [gfn, e] of pfnEntries(sept.entries)) {
      const live = e.target.kind === 'mmio' && e.state !== 'removed';
      assert.ok(!live, `${vm} gfn 0x${gfn.toString(16)} still maps MMIO`);
    }
  }
  // ... and the flavour's own tables: SEV's TDI context (the RMP's MMIO assignment and
  // the sDTE go with it), CCA's RTT entries of device memory and the VDEV.
  if (flavour === 'sev') {
    const sev = (w.pw.p as SevPlatform).vendor;
    assert.equal(sev.tdis.has(rid), false, 'TIO_TDI_RECLAIM freed the TDI context');
    assert.equal(sev.fences.size, 0, 'no ASID left fenced');
  }
  if (flavour === 'cca') {
    const cca = (w.pw.p as CcaPlatform).vendor;
    for (const realm of cca.realms.values()) {
      for (const [ipa, e] of realm.ipas) {
        assert.equal(e.pa, undefined, `IPA 0x${ipa.toString(16)} still maps device memory`);
        assert.equal(e.vdev, undefined);
      }
    }
    assert.equal(cca.vdevs.has(rid), false, 'RMI_VDEV_DESTROY freed the VDEV');
  }
  // KVM's mirror holds no MMIO of the TDI.
  for (const vm of w.h.kvm.vms.values()) {
    for (const e of pfnValues(vm.mirror)) assert.ok(e.kind !== 'mmio' || e.rid !== rid);
  }
  // No trusted DMA.
  assert.equal(w.pw.p.hw.iommu.secure.has(rid), false);
  assert.equal(w.pw.p.tsm.tdis.get(rid)?.dma ?? 'none', 'none');
  // Device memory scrubbed: the host reads zero where the guest wrote.
  const t0 = w.pw.dev.device.mmioRead(fn, 0, 0, 4, { t: false });
  assert.ok(t0.status === 'SC' && t0.data.every((b) => b === 0), 'scrubbed');
  // The dma-bufs were revoked before the unbind (KVM unmapped them on move_notify, the
  // private mapping above is gone).
  const ops = uapiSince(w, from);
  assert.ok(ops.includes('kvm_dmabuf_move_notify'), ops.join(' '));
  assert.ok(ops.indexOf('dma_buf_move_notify') < ops.indexOf('pci_tsm_unbind'));
  assert.ok(bufsOf(w, rid).every((b) => !b.private));
}

for (const flavour of ['tdx', 'sev', 'cca'] as const) {
  describe(`${flavour}: the end state after unbind`, () => {
    it('the guest unlocks: nothing private left, scrubbed, dma-bufs revoked then shared', async () => {
      const { w, fn, rid } = await running(flavour, `unbind end state ${flavour}`);
      await ran(w, ['guest.driver/unbind']);
      const from = w.trace.records.length;
      await ran(w, ['guest.tsm/unlock']);
      unbound(w, fn, rid, from);
      // Restored as shared BARs, which KVM may map again.
      assert.ok(bufsOf(w, rid).every((b) => b.state === 'live'));
      // The VMM lets the device go: its dma-bufs are revoked for good.
      await ran(w, ['vmm.release']);
      assert.ok(bufsOf(w, rid).length > 0 && bufsOf(w, rid).every((b) => b.state === 'closed'));
    });

    it('the VMM releases the device under the running guest: the same end state', async () => {
      const { w, fn, rid } = await running(flavour, `release end state ${flavour}`);
      const from = w.trace.records.length;
      await ran(w, ['vmm.release']);
      unbound(w, fn, rid, from);
      assert.ok(bufsOf(w, rid).every((b) => b.state === 'closed'));
      // The guest no longer has the device.
      assert.equal((await w.perform({ do: 'guest.mmio-read' })).errno, 'ENODEV');
    });

    it('a released device can be assigned again and taken to RUN', async () => {
      const { w, rid } = await running(flavour, `reassign ${flavour}`);
      await ran(w, ['vmm.release']);
      // VFIO's close unbound the device from iommufd, which detached it from its domain.
      assert.equal(w.pw.p.hw.iommu.attached.has(rid), false);
      await ran(w, ['vmm.assign', 'guest.tsm/lock', 'guest.attest', 'guest.tsm/accept']);
      assert.equal(w.tdiState({ do: '' }), 'RUN');
      assert.ok(w.pw.p.hw.iommu.attached.has(rid));
    });
  });
}
