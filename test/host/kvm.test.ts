/**
 * KVM without a TSM host driver: default VMs, shared memslots backed by host pages, memory
 * attributes, guest faults into the shared EPT, and every errno of the ioctls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kvmSetMemoryAttributes } from '../../src/host/kvm/attributes.ts';
import { kvmFault } from '../../src/host/kvm/fault.ts';
import { kvmCreateGuestMemfd } from '../../src/host/kvm/guest-memfd.ts';
import { kvmSetUserMemoryRegion2 } from '../../src/host/kvm/memslot.ts';
import {
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  KVM_MEM_VFIO_DMABUF,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_USER_MEM_SLOTS,
} from '../../src/host/kvm/uapi.ts';
import { kvmCreateVm, kvmFinalizeVm } from '../../src/host/kvm/vm.ts';
import { tsmDriver } from '../../src/host/tsm/index.ts';
import { pfnKey } from '../../src/platform/ids.ts';
import { pfnCount } from '../../src/platform/pfn-table.ts';
import { assertKvmConsistent, defaultVm, PAGE } from './kvm-support.ts';
import { hostWorld, ok, refused } from './world.ts';

const GPA = 0x10_0000n;

describe('KVM: default VMs and shared memory', () => {
  it('KVM_CREATE_VM: a default VM, its fd and name; a confidential one only with a TSM driver', async () => {
    const w = await hostWorld('tdx');
    const fd = await defaultVm(w);
    const vm = w.h.kvm.vms.get(fd);
    assert.equal(vm?.type, 'default');
    assert.equal(vm?.vm, `kvm-vm-${fd}`);
    assert.equal(w.h.nextFd, fd + 1);
    if (!tsmDriver(w.m)) {
      await refused(w, 'EINVAL', () => kvmCreateVm(w.m, w.h, { type: 'confidential' }));
    }
    await refused(w, 'EINVAL', () => kvmFinalizeVm(w.m, w.h, { vmFd: fd }));
    await refused(w, 'EBADF', () => kvmFinalizeVm(w.m, w.h, { vmFd: 999 }));
  });

  it('a shared slot: host pages from the memory map, faults into the shared EPT, deleted with its mappings', async () => {
    const w = await hostWorld('tdx');
    const vmFd = await defaultVm(w);
    const vm = w.h.kvm.vms.get(vmFd);
    assert.ok(vm);
    ok(
      await kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd,
        slot: 0,
        flags: 0,
        guestPhysAddr: GPA,
        memorySize: 4n * PAGE,
      }),
    );
    const slot = vm.memslots.get(0);
    assert.equal(slot?.baseGfn, GPA >> 12n);
    assert.equal(slot?.pages, 4);
    const hpfns = slot?.sharedHpfns ?? [];
    assert.equal(new Set(hpfns).size, 4);
    const [mem] = w.m.memoryMap;
    for (const p of hpfns) {
      assert.ok(p << 12n >= mem.base && p << 12n < mem.base + mem.size, 'inside the memory map');
    }
    // A second slot gets other pages.
    ok(
      await kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd,
        slot: 1,
        flags: KVM_MEM_LOG_DIRTY_PAGES,
        guestPhysAddr: GPA + 4n * PAGE,
        memorySize: 2n * PAGE,
      }),
    );
    const other = vm.memslots.get(1)?.sharedHpfns ?? [];
    assert.ok(other.every((p) => !hpfns.includes(p)));

    const f = ok(await kvmFault(w.m, w.h, { vmFd, gpa: GPA + 2n * PAGE + 0x10n, private: false }));
    assert.deepEqual(f, { exit: 'none', mapped: 'shared' });
    assert.equal(w.m.sharedEpts.get(vm.vm)?.[Number(GPA >> 12n) + 2], hpfns[2]);
    assert.deepEqual(ok(await kvmFault(w.m, w.h, { vmFd, gpa: GPA + 2n * PAGE, private: false })), {
      exit: 'none',
      mapped: 'present',
    });
    assertKvmConsistent(w);

    // Delete: the shared mapping goes first, then the slot and its pages.
    ok(
      await kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd,
        slot: 0,
        flags: 0,
        guestPhysAddr: 0n,
        memorySize: 0n,
      }),
    );
    assert.equal(vm.memslots.has(0), false);
    assert.equal(w.m.sharedEpts.get(vm.vm), undefined);
    assert.equal(pfnCount(vm.sharedMapped), 0);
    assert.ok(hpfns.every((p) => !(w.h.kvm.hostPages[pfnKey(p)] !== undefined)));
    assertKvmConsistent(w);
    await refused(w, 'EINVAL', () =>
      kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd,
        slot: 0,
        flags: 0,
        guestPhysAddr: 0n,
        memorySize: 0n,
      }),
    );
  });

  it('faults: emulated MMIO outside every slot, KVM_EXIT_MEMORY_FAULT on a private access to shared memory', async () => {
    const w = await hostWorld('tdx');
    const vmFd = await defaultVm(w);
    const slot = { vmFd, slot: 0, flags: 0, guestPhysAddr: GPA, memorySize: PAGE };
    ok(await kvmSetUserMemoryRegion2(w.m, w.h, slot));
    assert.deepEqual(ok(await kvmFault(w.m, w.h, { vmFd, gpa: 0xfee0_0000n, private: false })), {
      exit: 'KVM_EXIT_MMIO',
      gpa: 0xfee0_0000n,
    });
    const before = structuredClone(w.h.kvm);
    assert.deepEqual(ok(await kvmFault(w.m, w.h, { vmFd, gpa: GPA + 0x24n, private: true })), {
      exit: 'KVM_EXIT_MEMORY_FAULT',
      flags: KVM_MEMORY_EXIT_FLAG_PRIVATE,
      gpa: GPA,
      size: PAGE,
    });
    assert.deepEqual(w.h.kvm, before, 'an exit maps nothing');
    await refused(w, 'EBADF', () => kvmFault(w.m, w.h, { vmFd: 77, gpa: GPA, private: false }));
  });

  it('KVM_SET_USER_MEMORY_REGION2: every refusal changes nothing', async () => {
    const w = await hostWorld('tdx');
    const vmFd = await defaultVm(w);
    const base = { vmFd, slot: 0, flags: 0, guestPhysAddr: GPA, memorySize: 2n * PAGE };
    ok(await kvmSetUserMemoryRegion2(w.m, w.h, base));
    const set = (o: Partial<typeof base> & { guestMemfd?: number; guestMemfdOffset?: bigint }) =>
      kvmSetUserMemoryRegion2(w.m, w.h, {
        ...base,
        slot: 1,
        guestPhysAddr: GPA + PAGE * 16n,
        ...o,
      });
    await refused(w, 'EBADF', () => set({ vmFd: 500 }));
    await refused(w, 'EINVAL', () => set({ flags: 1 << 5 }));
    await refused(w, 'EINVAL', () => set({ flags: KVM_MEM_GUEST_MEMFD }));
    await refused(w, 'EINVAL', () => set({ flags: KVM_MEM_VFIO_DMABUF | KVM_MEM_READONLY }));
    await refused(w, 'EINVAL', () => set({ flags: KVM_MEM_VFIO_DMABUF | KVM_MEM_LOG_DIRTY_PAGES }));
    await refused(w, 'EINVAL', () => set({ flags: KVM_MEM_VFIO_DMABUF | KVM_MEM_GUEST_MEMFD }));
    await refused(w, 'EINVAL', () => set({ slot: KVM_USER_MEM_SLOTS }));
    await refused(w, 'EINVAL', () => set({ slot: -1 }));
    await refused(w, 'EINVAL', () => set({ guestPhysAddr: GPA + 0x800n }));
    await refused(w, 'EINVAL', () => set({ memorySize: PAGE + 1n }));
    // Slot 0 exists: moving or resizing it is refused, the same region again is a no-op.
    await refused(w, 'EINVAL', () => set({ slot: 0, guestPhysAddr: GPA + PAGE * 64n }));
    await refused(w, 'EINVAL', () => set({ slot: 0, guestPhysAddr: GPA, memorySize: PAGE }));
    const before = structuredClone(w.h);
    ok(await kvmSetUserMemoryRegion2(w.m, w.h, base));
    assert.deepEqual(w.h, before);
    // Overlap at either end.
    await refused(w, 'EEXIST', () => set({ guestPhysAddr: GPA + PAGE }));
    await refused(w, 'EEXIST', () => set({ guestPhysAddr: GPA - PAGE }));
    // More than the memory map holds.
    const total = w.m.memoryMap.reduce((n, r) => n + r.size, 0n);
    await refused(w, 'ENOMEM', () => set({ memorySize: total }));
    // A dma-buf slot whose fd is nothing open, or not a dma-buf.
    await refused(w, 'EBADF', () =>
      set({ flags: KVM_MEM_VFIO_DMABUF, guestMemfd: 4000, memorySize: PAGE }),
    );
    await refused(w, 'EINVAL', () =>
      set({ flags: KVM_MEM_VFIO_DMABUF, guestMemfd: vmFd, memorySize: PAGE }),
    );
    // Exactly adjacent is fine.
    ok(await set({ guestPhysAddr: GPA + 2n * PAGE }));
    assertKvmConsistent(w);
  });

  it('KVM_CREATE_GUEST_MEMFD: flags, size and a VM without private memory', async () => {
    const w = await hostWorld('tdx');
    const vmFd = await defaultVm(w);
    const create = (o: { vmFd?: number; size?: bigint; flags?: number }) =>
      kvmCreateGuestMemfd(w.m, w.h, { vmFd, size: 4n * PAGE, flags: 0, ...o });
    await refused(w, 'EBADF', () => create({ vmFd: 1234 }));
    await refused(w, 'EINVAL', () => create({ flags: 1 }));
    await refused(w, 'EINVAL', () => create({ size: 0n }));
    await refused(w, 'EINVAL', () => create({ size: PAGE + 8n }));
    await refused(w, 'EINVAL', () => create({}));
  });

  it('KVM_SET_MEMORY_ATTRIBUTES: a default VM has no private attribute; flags and ranges are checked', async () => {
    const w = await hostWorld('tdx');
    const vmFd = await defaultVm(w);
    const set = (
      o: Partial<{
        vmFd: number;
        address: bigint;
        size: bigint;
        attributes: number;
        flags: number;
      }>,
    ) =>
      kvmSetMemoryAttributes(w.m, w.h, {
        vmFd,
        address: GPA,
        size: PAGE,
        attributes: 0,
        flags: 0,
        ...o,
      });
    await refused(w, 'EBADF', () => set({ vmFd: 31 }));
    await refused(w, 'EINVAL', () => set({ attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE }));
    await refused(w, 'EINVAL', () => set({ attributes: 1 }));
    await refused(w, 'EINVAL', () => set({ flags: 1 }));
    await refused(w, 'EINVAL', () => set({ size: 0n }));
    await refused(w, 'EINVAL', () => set({ address: GPA + 1n }));
    await refused(w, 'EINVAL', () => set({ size: PAGE - 1n }));
    await refused(w, 'EINVAL', () => set({ address: (1n << 64n) - PAGE, size: 2n * PAGE }));
    ok(await set({}));
    assert.equal(pfnCount(w.h.kvm.vms.get(vmFd)?.privateGfns ?? {}), 0);
  });
});
