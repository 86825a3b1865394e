/**
 * A guest's EPT violation as KVM handles it (arch/x86/kvm/mmu/mmu.c kvm_mmu_page_fault,
 * kvm_faultin_pfn; guest_memfd.c kvm_gmem_get_pfn): find the slot, check the access against
 * the frame's private/shared attribute, look up the pfn, and map it: shared frames in the
 * shared EPT, private memory and private MMIO through the TSM host driver (mmu.ts).
 *
 * A private/shared mismatch, or a private access to a slot that cannot hold private memory,
 * exits to the VMM with KVM_EXIT_MEMORY_FAULT (KVM_MEMORY_EXIT_FLAG_PRIVATE when the access
 * was private) so it can convert the frame; a shared access outside every slot is emulated
 * MMIO (KVM_EXIT_MMIO). A pfn that cannot be looked up (a revoked or closed dma-buf, a TDI
 * no longer bound to this VM, a private dma-buf under `dmaBufPfns` 'sg-table', which has no
 * scatterlist) is -EIO, with the dma-buf core's refusal in the events.
 */
import { PAGE_SHIFT, PAGE_SIZE, pfnKey } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { kvmDmaBufPage, kvmDmaBufUnfault } from './dmabuf-import.ts';
import { boundVmOf } from './dmabuf-slot.ts';
import { hostPagesFind, hostPagesTake } from './mm.ts';
import { type MmuResult, mmuMapPrivateMmio, mmuMapPrivatePage, mmuMapShared } from './mmu.ts';
import type { KvmMemslot, KvmVm } from './state.ts';
import { KVM_MEMORY_EXIT_FLAG_PRIVATE } from './uapi.ts';
import { vmOf } from './vm.ts';

/** What the fault came to: a mapping (or one already there), or an exit to the VMM. */
export type KvmFaultResult =
  | { exit: 'none'; mapped: 'shared' | 'private' | 'mmio' | 'present' }
  | { exit: 'KVM_EXIT_MEMORY_FAULT'; flags: number; gpa: bigint; size: bigint }
  | { exit: 'KVM_EXIT_MMIO'; gpa: bigint };

const hex = (n: bigint): string => `0x${n.toString(16)}`;

/**
 * The guest of VM `vmFd` faulted on `gpa` (shared bit stripped), privately or not. -EBADF
 * not a VM; -EIO when the pfn lookup fails; -ENOMEM when a guest_memfd page cannot be
 * allocated; the driver's errno when the firmware refuses the mapping (mirror unchanged);
 * -EEXIST when the shared EPT already maps the frame behind KVM's back.
 */
export async function kvmFault(
  m: HostMachine,
  h: HostState,
  a: { vmFd: number; gpa: bigint; private: boolean },
): Promise<HostOutcome<KvmFaultResult>> {
  const op = 'kvm_mmu_page_fault';
  const args = { vmFd: a.vmFd, gpa: a.gpa, private: a.private };
  const got = vmOf(h, op, args, a.vmFd);
  if ('err' in got) return got.err;
  const { vm } = got;
  const gfn = a.gpa >> PAGE_SHIFT;
  const page = { gpa: gfn << PAGE_SHIFT, size: BigInt(PAGE_SIZE) };
  const memoryFault = (why: string): HostOutcome<KvmFaultResult> =>
    hostOk(
      'kvm',
      op,
      { ...args, exit: 'KVM_EXIT_MEMORY_FAULT', why },
      {
        exit: 'KVM_EXIT_MEMORY_FAULT',
        flags: a.private ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0,
        ...page,
      },
    );
  const ok = (mapped: 'shared' | 'private' | 'mmio' | 'present', r?: MmuResult) =>
    hostOk<KvmFaultResult>('kvm', op, args, { exit: 'none', mapped }, r?.events);

  if (a.private !== (vm.privateGfns[pfnKey(gfn)] !== undefined)) {
    return memoryFault(`gfn ${hex(gfn)} is ${a.private ? 'shared' : 'private'}`);
  }
  const slot = slotOf(vm, gfn);
  if (!slot) {
    if (a.private) return memoryFault(`no memslot at gfn ${hex(gfn)}`);
    return hostOk(
      'kvm',
      op,
      { ...args, exit: 'KVM_EXIT_MMIO' },
      { exit: 'KVM_EXIT_MMIO', gpa: a.gpa },
    );
  }
  if (a.private ? vm.mirror[pfnKey(gfn)] !== undefined : vm.sharedMapped[pfnKey(gfn)] !== undefined)
    return ok('present');
  const index = Number(gfn - slot.baseGfn);

  // A dma-buf slot: the BAR page behind the buffer, looked up through the dma-buf core while
  // the exporter has not revoked it (and, under 'sg-table', while it hands out a scatterlist).
  if (slot.dmaBuf !== undefined) {
    const buf = h.dmaBufs.bufs.get(slot.dmaBuf);
    if (!buf) return hostErr('kvm', op, args, 'EIO', `dma-buf ${slot.dmaBuf} is gone`);
    if (a.private && buf.private && boundVmOf(h, buf.rid) !== vm.vm) {
      return hostErr('kvm', op, args, 'EIO', `dma-buf ${buf.fd}: TDI not bound to ${vm.vm}`);
    }
    const imp = { fd: buf.fd, vmFd: vm.fd, slot: slot.slot };
    const page = kvmDmaBufPage(m, h, { ...imp, index });
    if (!page.ok) return hostErr('kvm', op, args, 'EIO', page.detail, page.events);
    const { pfn } = page.value;
    const done = (kind: 'shared' | 'mmio', r: MmuResult): HostOutcome<KvmFaultResult> => {
      const events = [...page.events, ...r.events];
      if (r.ok) return ok(kind, { ...r, events });
      // The fault failed: a scatterlist it mapped is unmapped again (a refusal leaves nothing).
      if (page.value.mappedNow) events.push(...kvmDmaBufUnfault(m, h, imp));
      return hostErr('kvm', op, args, r.errno, r.detail, events);
    };
    // The buffer's kind decides, as the frame's attribute does for RAM: private MMIO of a
    // bound TDI never goes into the shared EPT, shared MMIO never into the secure one.
    if (!a.private && buf.private) return memoryFault(`dma-buf ${buf.fd} is private MMIO`);
    if (!a.private) return done('shared', mmuMapShared(m, vm, gfn, pfn));
    if (!buf.private) return memoryFault(`dma-buf ${buf.fd} is shared MMIO`);
    return done('mmio', await mmuMapPrivateMmio(m, h, vm, gfn, pfn, buf.rid));
  }

  if (!a.private) {
    const hpfn = slot.sharedHpfns?.[index];
    if (hpfn === undefined) return hostErr('kvm', op, args, 'EIO', `slot ${slot.slot}: no page`);
    return mapped('shared', mmuMapShared(m, vm, gfn, hpfn));
  }

  // Private memory: the guest_memfd page, allocated at its first fault.
  const file = slot.guestMemfd === undefined ? undefined : h.kvm.guestMemfds.get(slot.guestMemfd);
  const bind = file?.bindings.get(slot.slot);
  if (!file || !bind) return memoryFault(`slot ${slot.slot} has no private memory`);
  const at = bind.first + index;
  let hpfn = file.hpfns.get(at);
  const fresh = hpfn === undefined;
  if (hpfn === undefined) {
    hpfn = hostPagesFind(m, h, 1)?.[0];
    if (hpfn === undefined) return hostErr('kvm', op, args, 'ENOMEM', 'no free host page');
  }
  const r = await mmuMapPrivatePage(m, h, vm, gfn, hpfn);
  if (r.ok && fresh) {
    hostPagesTake(h, [hpfn]);
    file.hpfns.set(at, hpfn);
  }
  return mapped('private', r);

  function mapped(kind: 'shared' | 'private' | 'mmio', r: MmuResult): HostOutcome<KvmFaultResult> {
    if (!r.ok) return hostErr('kvm', op, args, r.errno, r.detail, r.events);
    return ok(kind, r);
  }
}

/** The memslot holding `gfn`. */
function slotOf(vm: KvmVm, gfn: bigint): KvmMemslot | undefined {
  for (const s of vm.memslots.values()) {
    if (gfn >= s.baseGfn && gfn < s.baseGfn + BigInt(s.pages)) return s;
  }
  return undefined;
}
