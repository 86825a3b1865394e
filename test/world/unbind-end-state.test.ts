/**
 * What is left after an unbind, inspected in the world's own records for each flavour
 * (SYSTEM.md section 4 step 7, invariants 7 and 8): the guest locks, attests, accepts and
 * writes a secret through private MMIO, then unlocks; afterwards no private mapping of the
 * TDI's BAR pages remains (TDX's secure EPT, SEV's RMP assignment of MMIO pages, CCA's RTT
 * entries), no trusted DMA context, the device memory the guest wrote reads zero, the BAR
 * dma-bufs were revoked (KVM unmapped them) and are shared again, and the TDI is
 * CONFIG_UNLOCKED with no VM. After the VMM's release the dma-bufs are revoked for good.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CcaPlatform } from '../../src/platform/cca/rmi-pdev.ts';
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

for (const flavour of ['tdx', 'sev', 'cca'] as const) {
  describe(`${flavour}: the end state after unbind`, () => {
    it('no private mapping, no trusted DMA, memory scrubbed, dma-bufs revoked, TDI unlocked', async () => {
      const w = await World.create({ flavour, seed: `unbind end state ${flavour}` });
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
        'guest.driver/unbind',
      ]);
      // The secret is in the device, and private pages of the BAR are mapped.
      const dev = w.pw.dev.device;
      const t1 = dev.mmioRead(fn, 0, 0, 4, { t: true });
      assert.deepEqual(
        t1.status === 'SC' && new DataView(t1.data.buffer).getUint32(0, true),
        SECRET,
      );
      const mapped = [...w.pw.p.tsm.mmioPages.values()].filter((o) => o.rid === rid);
      assert.ok(mapped.length > 0, 'private MMIO mapped while running');
      assert.ok(w.pw.p.hw.iommu.secure.has(rid), 'trusted DMA while running');
      const bufs = () => [...w.h.dmaBufs.bufs.values()].filter((b) => b.rid === rid);
      assert.ok(bufs().length > 0 && bufs().every((b) => b.private));

      const from = w.trace.records.length;
      await ran(w, ['guest.tsm/unlock']);

      // TDI unlocked and bound to no VM.
      assert.equal(w.pw.dev.dsm.tdiState(fn), 'CONFIG_UNLOCKED');
      assert.equal(w.pw.p.tsm.tdis.get(rid)?.vm, undefined);
      // No private mapping: the TSM's one-owner record of BAR pages, the secure EPT ...
      assert.deepEqual(
        [...w.pw.p.tsm.mmioPages.values()].filter((o) => o.rid === rid),
        [],
      );
      assert.equal(w.pw.p.tsm.tdis.get(rid)?.mmio.size ?? 0, 0);
      for (const [vm, sept] of w.pw.p.hw.septs) {
        for (const [gfn, e] of sept.entries) {
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
        for (const e of vm.mirror.values()) assert.ok(e.kind !== 'mmio' || e.rid !== rid);
      }
      // No trusted DMA.
      assert.equal(w.pw.p.hw.iommu.secure.has(rid), false);
      const dma = w.pw.p.tsm.tdis.get(rid)?.dma ?? 'none';
      assert.equal(dma, 'none');
      // Device memory scrubbed: the host reads zero where the guest wrote.
      const t0 = dev.mmioRead(fn, 0, 0, 4, { t: false });
      assert.ok(t0.status === 'SC' && t0.data.every((b) => b === 0), 'scrubbed');
      // The dma-bufs were revoked before the unbind (KVM unmapped them on move_notify, the
      // private mapping above is gone), then restored as shared BARs KVM may map again.
      const ops = uapiSince(w, from);
      assert.ok(ops.includes('kvm_dmabuf_move_notify'), ops.join(' '));
      assert.ok(ops.indexOf('dma_buf_move_notify') < ops.indexOf('pci_tsm_unbind'));
      assert.ok(bufs().every((b) => !b.private && b.state === 'live'));

      // The VMM lets the device go: its dma-bufs are revoked for good.
      await ran(w, ['vmm.release']);
      assert.ok(bufs().length > 0 && bufs().every((b) => b.state === 'closed'));
    });
  });
}
