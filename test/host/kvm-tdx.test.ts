/**
 * KVM with the TDX flavour's TSM host driver: a confidential VM in the firmware, guest_memfd
 * slots, private faults through the driver into the secure EPT with KVM's mirror written only
 * after the firmware said yes, conversions and slot deletion zapping through the driver, and
 * firmware refusals that leave the mirror and every record as they were. Skipped while the
 * platform has no TSM host driver registered for TDX.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { kvmSetMemoryAttributes } from '../../src/host/kvm/attributes.ts';
import { kvmFault } from '../../src/host/kvm/fault.ts';
import { kvmCreateGuestMemfd } from '../../src/host/kvm/guest-memfd.ts';
import { kvmSetUserMemoryRegion2 } from '../../src/host/kvm/memslot.ts';
import {
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_VFIO_DMABUF,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
} from '../../src/host/kvm/uapi.ts';
import { kvmCreateVm, kvmFinalizeVm } from '../../src/host/kvm/vm.ts';
import type { HostMachine } from '../../src/host/machine.ts';
import type { HostOutcome } from '../../src/host/outcome.ts';
import { tsmDriver } from '../../src/host/tsm/index.ts';
import { pfnKey } from '../../src/platform/ids.ts';
import { pfnCount } from '../../src/platform/pfn-table.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import { assertKvmConsistent, dmaBuf, PAGE, recordBinding } from './kvm-support.ts';
import { type HostWorld, hostWorld, ok, refused } from './world.ts';

const GPA = 0x10_0000n;
const GFN = GPA >> 12n;
const NO_DRIVER = 'no TSM host driver registered for tdx yet (src/host/tsm/index.ts)';

/** A TDX world with a confidential VM, an 8-page guest_memfd and a 4-page slot on it; or skipped. */
async function tdVm(t: TestContext) {
  const w = await hostWorld('tdx');
  if (!tsmDriver(w.m)) {
    t.skip(NO_DRIVER);
    return undefined;
  }
  const vmFd = ok(await kvmCreateVm(w.m, w.h, { type: 'confidential' }));
  const vm = w.h.kvm.vms.get(vmFd);
  assert.ok(vm);
  const gmem = ok(kvmCreateGuestMemfd(w.m, w.h, { vmFd, size: 8n * PAGE, flags: 0 }));
  ok(
    await kvmSetUserMemoryRegion2(w.m, w.h, {
      vmFd,
      slot: 0,
      flags: KVM_MEM_GUEST_MEMFD,
      guestPhysAddr: GPA,
      memorySize: 4n * PAGE,
      guestMemfd: gmem,
      guestMemfdOffset: 0n,
    }),
  );
  const attrs = (first: bigint, pages: bigint, priv: boolean, m: HostMachine = w.m) =>
    kvmSetMemoryAttributes(m, w.h, {
      vmFd,
      address: first << 12n,
      size: pages * PAGE,
      attributes: priv ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
      flags: 0,
    });
  const fault = (gfn: bigint, priv: boolean, m: HostMachine = w.m) =>
    kvmFault(m, w.h, { vmFd, gpa: gfn << 12n, private: priv });
  return { ...w, vmFd, vm, gmem, attrs, fault };
}

/** Everything the host and the firmware hold, the secure and shared EPTs included. */
const everything = (w: HostWorld) =>
  canonicalHash({
    h: w.h,
    tsm: w.p.tsm,
    vendor: w.p.vendor,
    septs: w.p.hw.septs,
    shared: w.p.hw.sharedEpts,
  });

/** Asserts a refusal that the firmware answered (its failed call in the events) and that changed nothing. */
async function firmwareRefused<T>(
  w: HostWorld,
  call: string,
  run: () => Promise<HostOutcome<T>>,
): Promise<void> {
  const before = everything(w);
  const o = await run();
  assert.equal(o.ok, false, 'expected the firmware to refuse');
  const failed = o.events.find((e) => e.kind === 'abi' && !e.ok);
  assert.ok(failed && failed.kind === 'abi' && failed.call === call, `no refused ${call}`);
  assert.equal(everything(w), before, 'a firmware refusal changed records');
}

describe('KVM: a TD through the TDX host driver', () => {
  it('KVM_CREATE_VM confidential creates the TD in the firmware; guest_memfd slot errnos', async (t) => {
    const w = await tdVm(t);
    if (!w) return;
    assert.ok(w.p.tsm.vms.has(w.vm.vm), 'the firmware knows the TD');
    assert.equal(w.vm.type, 'confidential');
    const set = (o: { flags?: number; guestMemfd?: number; offset?: bigint; gpa?: bigint }) =>
      kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd: w.vmFd,
        slot: 1,
        flags: o.flags ?? KVM_MEM_GUEST_MEMFD,
        guestPhysAddr: o.gpa ?? GPA + 0x10_0000n,
        memorySize: 4n * PAGE,
        guestMemfd: o.guestMemfd ?? w.gmem,
        guestMemfdOffset: o.offset ?? 4n * PAGE,
      });
    await refused(w, 'EINVAL', () => set({ flags: KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES }));
    // Pages 0..3 are slot 0's.
    await refused(w, 'EEXIST', () => set({ offset: 2n * PAGE }));
    await refused(w, 'EINVAL', () => set({ offset: 6n * PAGE }));
    await refused(w, 'EINVAL', () => set({ offset: 0x800n }));
    await refused(w, 'EINVAL', () => set({ guestMemfd: w.vmFd }));
    await refused(w, 'EBADF', () => set({ guestMemfd: 900 }));
    // A guest_memfd of another VM.
    const other = ok(await kvmCreateVm(w.m, w.h, { type: 'confidential' }));
    const theirs = ok(kvmCreateGuestMemfd(w.m, w.h, { vmFd: other, size: 4n * PAGE, flags: 0 }));
    await refused(w, 'EINVAL', () => set({ guestMemfd: theirs, offset: 0n }));
    ok(await set({}));
    assert.deepEqual(w.h.kvm.guestMemfds.get(w.gmem)?.bindings.get(1), { first: 4, pages: 4 });
    assertKvmConsistent(w);
  });

  it('private faults map guest_memfd pages through the driver; the mirror follows the firmware', async (t) => {
    const w = await tdVm(t);
    if (!w) return;
    ok(await w.attrs(GFN, 2n, true));
    // Mismatches exit to the VMM and map nothing.
    assert.deepEqual(ok(await w.fault(GFN, false)), {
      exit: 'KVM_EXIT_MEMORY_FAULT',
      flags: 0,
      gpa: GPA,
      size: PAGE,
    });
    assert.deepEqual(ok(await w.fault(GFN + 2n, true)), {
      exit: 'KVM_EXIT_MEMORY_FAULT',
      flags: KVM_MEMORY_EXIT_FLAG_PRIVATE,
      gpa: GPA + 2n * PAGE,
      size: PAGE,
    });
    assert.equal(pfnCount(w.vm.mirror), 0);

    assert.deepEqual(ok(await w.fault(GFN, true)), { exit: 'none', mapped: 'private' });
    const hpfn = w.h.kvm.guestMemfds.get(w.gmem)?.hpfns.get(0);
    assert.ok(hpfn !== undefined && w.h.kvm.hostPages[pfnKey(hpfn)] !== undefined);
    assert.deepEqual(w.vm.mirror[pfnKey(GFN)], { kind: 'memory', hpfn });
    const sept = w.p.hw.septs.get(w.vm.vm)?.entries[Number(GFN)];
    assert.deepEqual(
      sept?.target,
      { kind: 'memory', hpfn },
      'the secure EPT agrees with the mirror',
    );
    assert.deepEqual(ok(await w.fault(GFN, true)), { exit: 'none', mapped: 'present' });
    assertKvmConsistent(w);

    // Shared -> the page leaves the secure EPT through the driver, then the shared side maps.
    ok(await w.attrs(GFN, 1n, false));
    assert.equal(w.vm.mirror[pfnKey(GFN)] !== undefined, false);
    assert.equal(w.p.hw.septs.get(w.vm.vm)?.entries[Number(GFN)], undefined);
    assert.deepEqual(ok(await w.fault(GFN, false)), { exit: 'none', mapped: 'shared' });
    assert.equal(
      w.m.sharedEpts.get(w.vm.vm)?.[Number(GFN)],
      w.vm.memslots.get(0)?.sharedHpfns?.[0],
    );
    // And back: the shared mapping is zapped, the same guest_memfd page comes back.
    ok(await w.attrs(GFN, 1n, true));
    assert.equal(w.vm.sharedMapped[pfnKey(GFN)] !== undefined, false);
    ok(await w.fault(GFN, true));
    assert.deepEqual(w.vm.mirror[pfnKey(GFN)], { kind: 'memory', hpfn });
    assertKvmConsistent(w);

    // After the launch is finished pages keep coming (AUG instead of ADD, the driver's choice).
    ok(await kvmFinalizeVm(w.m, w.h, { vmFd: w.vmFd }));
    assert.equal(w.vm.finalized, true);
    await refused(w, 'EINVAL', () => kvmFinalizeVm(w.m, w.h, { vmFd: w.vmFd }));
    ok(await w.fault(GFN + 1n, true));
    assert.equal(w.vm.mirror[pfnKey(GFN + 1n)]?.kind, 'memory');

    // Deleting the slot removes its private pages from the firmware first.
    ok(
      await kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd: w.vmFd,
        slot: 0,
        flags: 0,
        guestPhysAddr: 0n,
        memorySize: 0n,
      }),
    );
    assert.equal(pfnCount(w.vm.mirror), 0);
    assert.equal(pfnCount(w.p.hw.septs.get(w.vm.vm)?.entries ?? {}), 0);
    assert.equal(w.h.kvm.guestMemfds.get(w.gmem)?.bindings.size, 0);
    assertKvmConsistent(w);
  });

  it('a page the firmware refuses leaves the mirror, guest_memfd and allocator unchanged', async (t) => {
    const w = await tdVm(t);
    if (!w) return;
    ok(await w.attrs(GFN, 1n, true));
    // A memory map that lies (a page that is not memory): the TDX module refuses the ADD.
    const lying: HostMachine = { ...w.m, memoryMap: [{ base: 0x40_0000_0000n, size: PAGE }] };
    await firmwareRefused(w, 'TDH.MEM.PAGE.ADD', () => w.fault(GFN, true, lying));
    assert.equal(pfnCount(w.vm.mirror), 0);
    assert.equal(w.h.kvm.guestMemfds.get(w.gmem)?.hpfns.size, 0);
    // The true map works.
    ok(await w.fault(GFN, true));
    assert.equal(pfnCount(w.vm.mirror), 1);
  });

  it('private MMIO: only from a private dma-buf of a TDI bound to this VM; a refused TDH.MMIO.MAP changes nothing', async (t) => {
    const w = await tdVm(t);
    if (!w) return;
    const MMIO = 0x8000_0000n;
    const slot = (fd: number, n: number, gpa: bigint) =>
      kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd: w.vmFd,
        slot: n,
        flags: KVM_MEM_VFIO_DMABUF,
        guestPhysAddr: gpa,
        memorySize: 2n * PAGE,
        guestMemfd: fd,
      });
    // A shared buffer cannot back private memory: the private access exits.
    const shared = dmaBuf(w);
    ok(await slot(shared.fd, 2, MMIO + 0x10_0000n));
    ok(await w.attrs((MMIO + 0x10_0000n) >> 12n, 1n, true));
    assert.deepEqual(ok(await w.fault((MMIO + 0x10_0000n) >> 12n, true)), {
      exit: 'KVM_EXIT_MEMORY_FAULT',
      flags: KVM_MEMORY_EXIT_FLAG_PRIVATE,
      gpa: MMIO + 0x10_0000n,
      size: PAGE,
    });

    // The PCI/TSM core recorded the TDI bound to this TD, but the firmware holds no binding
    // (no DEVIF, no MMIOMT entry): TDH.MMIO.MAP is refused and KVM's mirror stays empty.
    recordBinding(w, w.vm.vm);
    const priv = dmaBuf(w, { private: true });
    ok(await slot(priv.fd, 3, MMIO));
    ok(await w.attrs(MMIO >> 12n, 2n, true));
    await firmwareRefused(w, 'TDH.MMIO.MAP', () => w.fault(MMIO >> 12n, true));
    assert.equal(pfnCount(w.vm.mirror), 0);
    // Bound elsewhere now: the pfn lookup fails.
    recordBinding(w, 'another-td');
    await refused(w, 'EIO', () => w.fault(MMIO >> 12n, true));
    assertKvmConsistent(w);
  });
});
