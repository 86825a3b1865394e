/**
 * KVM_MEM_VFIO_DMABUF slots (SYSTEM.md section 3 "KVM", invariants 2 and 3): the buffer must
 * be this VM's, whole and live; the slot attaches to it; shared faults map its BAR pages in
 * the shared EPT; move_notify zaps the slot's range and a fault after revocation is -EIO.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kvmMoveNotify } from '../../src/host/kvm/dmabuf-slot.ts';
import { kvmFault } from '../../src/host/kvm/fault.ts';
import { kvmSetUserMemoryRegion2 } from '../../src/host/kvm/memslot.ts';
import { KVM_MEM_VFIO_DMABUF } from '../../src/host/kvm/uapi.ts';
import { pfnCount } from '../../src/platform/pfn-table.ts';
import { assertKvmConsistent, defaultVm, dmaBuf, PAGE, recordBinding } from './kvm-support.ts';
import { type HostWorld, hostWorld, ok, refused } from './world.ts';

const GPA = 0x8000_0000n;

function slot(
  w: HostWorld,
  vmFd: number,
  fd: number,
  o: { size?: bigint; offset?: bigint; slot?: number } = {},
) {
  return kvmSetUserMemoryRegion2(w.m, w.h, {
    vmFd,
    slot: o.slot ?? 5,
    flags: KVM_MEM_VFIO_DMABUF,
    guestPhysAddr: GPA,
    memorySize: o.size ?? 2n * PAGE,
    guestMemfd: fd,
    guestMemfdOffset: o.offset ?? 0n,
  });
}

describe('KVM: VFIO dma-buf memslots', () => {
  it('a shared buffer: attached, its BAR pages mapped shared, zapped on move_notify, -EIO once revoked', async () => {
    const w = await hostWorld('tdx');
    const vmFd = await defaultVm(w);
    const vm = w.h.kvm.vms.get(vmFd);
    assert.ok(vm);
    const buf = dmaBuf(w);
    ok(await slot(w, vmFd, buf.fd));
    assert.deepEqual(vm.memslots.get(5), {
      slot: 5,
      flags: KVM_MEM_VFIO_DMABUF,
      baseGfn: GPA >> 12n,
      pages: 2,
      dmaBuf: buf.fd,
    });
    assert.deepEqual(buf.importers, [{ kind: 'kvm', vmFd, slot: 5, mapped: true }]);
    assert.equal(pfnCount(w.h.kvm.hostPages), 0, 'a dma-buf slot takes no host memory');

    for (const i of [0n, 1n]) {
      const f = ok(await kvmFault(w.m, w.h, { vmFd, gpa: GPA + i * PAGE, private: false }));
      assert.deepEqual(f, { exit: 'none', mapped: 'shared' });
      assert.equal(
        w.m.sharedEpts.get(vm.vm)?.[Number((GPA >> 12n) + i)],
        (buf.ranges[0].address >> 12n) + i,
      );
    }
    assertKvmConsistent(w);

    // The exporter revokes: move_notify zaps both pages.
    buf.state = 'revoked';
    ok(await kvmMoveNotify(w.m, w.h, buf.importers[0]));
    assert.equal(w.m.sharedEpts.get(vm.vm), undefined);
    assert.equal(pfnCount(vm.sharedMapped), 0);
    // 'phys-vec' (the default): KVM stays attached and notified; its pfn lookup is stateless.
    assert.equal(buf.importers[0].mapped, true);
    await refused(w, 'EIO', () => kvmFault(w.m, w.h, { vmFd, gpa: GPA, private: false }));
    // Restored: the guest faults it in again.
    buf.state = 'live';
    ok(await kvmFault(w.m, w.h, { vmFd, gpa: GPA, private: false }));
    assertKvmConsistent(w);

    // Deleting the slot zaps it and drops the attachment.
    ok(
      await kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd,
        slot: 5,
        flags: 0,
        guestPhysAddr: 0n,
        memorySize: 0n,
      }),
    );
    assert.deepEqual(buf.importers, []);
    assert.equal(w.m.sharedEpts.get(vm.vm), undefined);
    assertKvmConsistent(w);
  });

  it('the buffer must be whole, at offset 0, live and this VM’s (refusals change nothing)', async () => {
    const w = await hostWorld('tdx');
    const a = await defaultVm(w);
    const b = await defaultVm(w);
    const buf = dmaBuf(w);
    await refused(w, 'EINVAL', () => slot(w, a, buf.fd, { offset: PAGE }));
    await refused(w, 'EINVAL', () => slot(w, a, buf.fd, { size: PAGE }));
    await refused(w, 'EINVAL', () => slot(w, a, buf.fd, { size: 4n * PAGE }));
    buf.state = 'revoked';
    await refused(w, 'ENODEV', () => slot(w, a, buf.fd));
    buf.state = 'closed';
    await refused(w, 'ENODEV', () => slot(w, a, buf.fd));
    buf.state = 'live';
    // The first VM to attach a shared buffer owns it; a second VM is refused.
    ok(await slot(w, a, buf.fd));
    await refused(w, 'EINVAL', () => slot(w, b, buf.fd));
    // The same VM may map it again in another slot (at another address).
    ok(
      await kvmSetUserMemoryRegion2(w.m, w.h, {
        vmFd: a,
        slot: 6,
        flags: KVM_MEM_VFIO_DMABUF,
        guestPhysAddr: GPA + 0x10_0000n,
        memorySize: 2n * PAGE,
        guestMemfd: buf.fd,
      }),
    );
    assert.equal(buf.importers.length, 2);
  });

  it('a private buffer backs a slot only of the VM its TDI is TSM-bound to (invariant 2)', async () => {
    const w = await hostWorld('tdx');
    const a = await defaultVm(w);
    const b = await defaultVm(w);
    const buf = dmaBuf(w, { private: true });
    // No binding: the private buffer is nobody's.
    await refused(w, 'EINVAL', () => slot(w, a, buf.fd));
    recordBinding(w, w.h.kvm.vms.get(b)?.vm ?? '');
    await refused(w, 'EINVAL', () => slot(w, a, buf.fd));
    ok(await slot(w, b, buf.fd));
    // A shared buffer of a TDI bound to `b` is b's even when `a` attached it first.
    const shared = dmaBuf(w);
    ok(await slot(w, a, shared.fd, { slot: 1 }));
    const r = await kvmSetUserMemoryRegion2(w.m, w.h, {
      vmFd: b,
      slot: 2,
      flags: KVM_MEM_VFIO_DMABUF,
      guestPhysAddr: 0x9000_0000n,
      memorySize: 2n * PAGE,
      guestMemfd: shared.fd,
    });
    ok(r);
  });

  it('a shared fault on a private buffer exits to userspace instead of mapping it shared', async () => {
    const w = await hostWorld('tdx');
    const vmFd = await defaultVm(w);
    const buf = dmaBuf(w, { private: true });
    recordBinding(w, w.h.kvm.vms.get(vmFd)?.vm ?? '');
    ok(await slot(w, vmFd, buf.fd));
    const f = ok(await kvmFault(w.m, w.h, { vmFd, gpa: GPA, private: false }));
    assert.equal(f.exit, 'KVM_EXIT_MEMORY_FAULT');
    assert.equal(
      pfnCount(w.h.kvm.vms.get(vmFd)?.sharedMapped ?? {}),
      0,
      'nothing in the shared EPT',
    );
    assertKvmConsistent(w);
  });

  it('move_notify for an importer with no slot behind it is -ENOENT', async () => {
    const w = await hostWorld('tdx');
    const vmFd = await defaultVm(w);
    await refused(w, 'ENOENT', () =>
      kvmMoveNotify(w.m, w.h, { kind: 'kvm', vmFd, slot: 3, mapped: true }),
    );
    await refused(w, 'ENOENT', () => kvmMoveNotify(w.m, w.h, { kind: 'device', mapped: true }));
  });
});
