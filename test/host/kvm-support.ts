/**
 * Helpers of the KVM tests: a VM, a slot, a VFIO dma-buf record over a BAR of the world's
 * TDI (as VFIO_DEVICE_FEATURE_DMA_BUF leaves it), a TSM binding recorded as the PCI/TSM core
 * leaves it, and KVM's own invariants over host state and the shared EPT.
 */
import assert from 'node:assert/strict';
import type { DmaBuf } from '../../src/host/dma-buf/state.ts';
import { kvmCreateVm } from '../../src/host/kvm/vm.ts';
import { allocFd } from '../../src/host/state.ts';
import type { VmId } from '../../src/platform/ids.ts';
import { pfnKey } from '../../src/platform/ids.ts';
import { pfnFrames, pfnKeys } from '../../src/platform/pfn-table.ts';
import { type HostWorld, ok } from './world.ts';

export const PAGE = 0x1000n;

export async function defaultVm(w: HostWorld): Promise<number> {
  return ok(await kvmCreateVm(w.m, w.h, { type: 'default' }));
}

/** A dma-buf of the first `pages` pages of BAR 0 of the world's TDI. */
export function dmaBuf(w: HostWorld, o: { pages?: number; private?: boolean } = {}): DmaBuf {
  const bar = w.m.barAddress(w.rid, 0);
  assert.ok(bar);
  const buf: DmaBuf = {
    fd: allocFd(w.h),
    vfioFd: 0,
    rid: w.rid,
    bar: 0,
    ranges: [{ address: bar.base, length: BigInt(o.pages ?? 2) * PAGE }],
    private: o.private ?? false,
    state: 'live',
    importers: [],
  };
  w.h.dmaBufs.bufs.set(buf.fd, buf);
  return buf;
}

/** The PCI/TSM core's record of the world's TDI bound to `vm` (what pci_tsm_bind leaves). */
export function recordBinding(w: HostWorld, vm: VmId): void {
  w.h.pciTsm.devices.set(w.dsm, {
    dsm: w.dsm,
    functions: w.m.functions(),
    connectedTo: 'tsm0',
    bound: new Map([[w.rid, { vm, vdevId: 1 }]]),
  });
}

/**
 * KVM's records agree with each other and with the hardware it programs: every shared
 * mapping KVM holds is in the VM's shared EPT and inside one of its slots, the shared EPT
 * holds nothing else for KVM's VMs, mirror entries are private frames inside slots, and the
 * host frames in use are exactly the slots' shared backing and the guest_memfd pages.
 */
export function assertKvmConsistent(w: HostWorld): void {
  const inUse = new Set<bigint>();
  for (const f of w.h.kvm.guestMemfds.values()) for (const p of f.hpfns.values()) inUse.add(p);
  for (const vm of w.h.kvm.vms.values()) {
    const inSlot = (gfn: bigint) =>
      [...vm.memslots.values()].some((s) => gfn >= s.baseGfn && gfn < s.baseGfn + BigInt(s.pages));
    for (const s of vm.memslots.values()) for (const p of s.sharedHpfns ?? []) inUse.add(p);
    const ept = w.m.sharedEpts.get(vm.vm) ?? {};
    assert.deepEqual(pfnKeys(ept), pfnKeys(vm.sharedMapped), `${vm.vm}: shared EPT vs KVM`);
    for (const gfn of pfnFrames(vm.sharedMapped)) {
      assert.ok(inSlot(gfn), `shared gfn ${gfn} outside slots`);
    }
    for (const gfn of pfnFrames(vm.mirror)) {
      assert.ok(inSlot(gfn), `mirror gfn ${gfn} outside slots`);
      assert.ok(vm.privateGfns[pfnKey(gfn)] !== undefined, `mirror gfn ${gfn} is not private`);
    }
  }
  assert.deepEqual(inUse, new Set(pfnFrames(w.h.kvm.hostPages)), 'host pages in use vs allocator');
}
