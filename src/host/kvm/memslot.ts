/**
 * KVM_SET_USER_MEMORY_REGION2 (virt/kvm/kvm_main.c kvm_set_memory_region,
 * check_memory_region_flags; guest_memfd.c kvm_gmem_bind; the TEE-IO RFC's
 * KVM_MEM_VFIO_DMABUF, SYSTEM.md section 3 "KVM"): creating a memslot and deleting one
 * (memory_size 0, which zaps its range first).
 *
 * A slot is plain (shared memory only), KVM_MEM_GUEST_MEMFD (shared memory, and private pages
 * from a guest_memfd range), or KVM_MEM_VFIO_DMABUF (the BAR pages of a VFIO dma-buf whose fd
 * is in the guest_memfd field). The shared backing of the first two is host memory the VMM
 * mapped; here KVM takes it from the host's page allocator (mm.ts). This model creates and
 * deletes slots; moving a slot or changing its flags is refused (-EINVAL), as KVM refuses it
 * for every slot that can hold private memory.
 */
import { PAGE_SHIFT, PAGE_SIZE } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { kvmDmaBufImport, kvmDmaBufRelease } from './dmabuf-import.ts';
import { dmaBufForeign, dmaBufSize } from './dmabuf-slot.ts';
import { hostPagesFind, hostPagesFree, hostPagesTake } from './mm.ts';
import { mmuZapRange } from './mmu.ts';
import type { KvmMemslot } from './state.ts';
import {
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  KVM_MEM_VFIO_DMABUF,
  KVM_USER_MEM_SLOTS,
} from './uapi.ts';
import { vmOf } from './vm.ts';

/** struct kvm_userspace_memory_region2, as this model reads it. */
export interface UserMemoryRegion2 {
  vmFd: number;
  slot: number;
  flags: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  /** guest_memfd fd (KVM_MEM_GUEST_MEMFD) or dma-buf fd (KVM_MEM_VFIO_DMABUF). */
  guestMemfd?: number;
  guestMemfdOffset?: bigint;
}

const VALID_FLAGS =
  KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD | KVM_MEM_VFIO_DMABUF;
const PAGE = BigInt(PAGE_SIZE);
const hex = (n: bigint): string => `0x${n.toString(16)}`;

/**
 * KVM_SET_USER_MEMORY_REGION2. -EBADF not a VM, or a guest_memfd / dma-buf fd that is not
 * open; -EINVAL for unknown flags, KVM_MEM_GUEST_MEMFD on a VM without private memory or
 * with dirty logging, KVM_MEM_VFIO_DMABUF with KVM_MEM_GUEST_MEMFD, dirty logging or
 * read-only, a slot id out of range, an unaligned address, size or offset, deleting a slot
 * that does not exist, changing one that does, an fd of the wrong kind or of another VM, a
 * guest_memfd range past its end, a dma-buf slot at a non-zero offset, of another size than
 * the buffer, or of a buffer that is not this VM's, or (switch `dmaBufPfns` 'sg-table') of a
 * private buffer, which has no scatterlist to map; -EEXIST for a range overlapping another
 * slot or a guest_memfd range another slot binds; -ENODEV for a revoked or closed dma-buf;
 * -ENOMEM when host memory is short. Deleting a slot fails with the driver's errno when the
 * firmware refuses to unmap a private page of it (the slot stays).
 */
export async function kvmSetUserMemoryRegion2(
  m: HostMachine,
  h: HostState,
  a: UserMemoryRegion2,
): Promise<HostOutcome> {
  const op = 'KVM_SET_USER_MEMORY_REGION2';
  const args = {
    vmFd: a.vmFd,
    slot: a.slot,
    flags: a.flags,
    guestPhysAddr: a.guestPhysAddr,
    memorySize: a.memorySize,
    ...(a.guestMemfd === undefined ? {} : { guestMemfd: a.guestMemfd }),
    ...(a.guestMemfdOffset === undefined ? {} : { guestMemfdOffset: a.guestMemfdOffset }),
  };
  const refuse = (errno: Parameters<typeof hostErr>[3], detail: string) =>
    hostErr('kvm', op, args, errno, detail);
  const got = vmOf(h, op, args, a.vmFd);
  if ('err' in got) return got.err;
  const { vm } = got;

  // check_memory_region_flags
  if ((a.flags & ~VALID_FLAGS) !== 0) {
    return refuse('EINVAL', `unknown flags 0x${(a.flags & ~VALID_FLAGS).toString(16)}`);
  }
  const gmem = (a.flags & KVM_MEM_GUEST_MEMFD) !== 0;
  const dmabuf = (a.flags & KVM_MEM_VFIO_DMABUF) !== 0;
  if (gmem && vm.type !== 'confidential') {
    return refuse('EINVAL', `KVM_MEM_GUEST_MEMFD: ${vm.vm} has no private memory`);
  }
  if (gmem && (a.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0) {
    return refuse('EINVAL', 'KVM_MEM_GUEST_MEMFD excludes KVM_MEM_LOG_DIRTY_PAGES');
  }
  const excluded = KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
  if (dmabuf && (a.flags & excluded) !== 0) {
    return refuse(
      'EINVAL',
      'KVM_MEM_VFIO_DMABUF excludes KVM_MEM_GUEST_MEMFD, dirty logging and read-only',
    );
  }
  if (!Number.isInteger(a.slot) || a.slot < 0 || a.slot >= KVM_USER_MEM_SLOTS) {
    return refuse('EINVAL', `slot ${a.slot} is not a user memslot`);
  }
  const offset = a.guestMemfdOffset ?? 0n;
  if (a.guestPhysAddr % PAGE !== 0n || a.memorySize % PAGE !== 0n || offset % PAGE !== 0n) {
    return refuse('EINVAL', 'address, size and offset must be page aligned');
  }
  if (a.guestPhysAddr < 0n || a.memorySize < 0n || offset < 0n) {
    return refuse('EINVAL', 'negative address, size or offset');
  }
  const old = vm.memslots.get(a.slot);
  if (a.memorySize === 0n) {
    if (!old) return refuse('EINVAL', `slot ${a.slot} does not exist`);
    return deleteSlot(m, h, vm.fd, old, op, args);
  }
  if (old) {
    const same =
      old.flags === a.flags &&
      old.baseGfn === a.guestPhysAddr >> PAGE_SHIFT &&
      BigInt(old.pages) * PAGE === a.memorySize &&
      (old.guestMemfd ?? old.dmaBuf) === a.guestMemfd;
    if (same) return hostOk('kvm', op, args, undefined);
    return refuse('EINVAL', `slot ${a.slot} exists: a slot is deleted, not moved or changed`);
  }
  const baseGfn = a.guestPhysAddr >> PAGE_SHIFT;
  const pages = Number(a.memorySize >> PAGE_SHIFT);
  for (const s of vm.memslots.values()) {
    if (baseGfn < s.baseGfn + BigInt(s.pages) && s.baseGfn < baseGfn + BigInt(pages)) {
      return refuse('EEXIST', `overlaps slot ${s.slot} at gfn ${hex(s.baseGfn)}`);
    }
  }
  const fdKind = (fd: number): 'EBADF' | 'EINVAL' =>
    fd >= 3 && fd < h.nextFd ? 'EINVAL' : 'EBADF';

  // The backing, checked before anything is written.
  const slot: KvmMemslot = { slot: a.slot, flags: a.flags, baseGfn, pages };
  if (dmabuf) {
    const fd = a.guestMemfd ?? -1;
    const buf = h.dmaBufs.bufs.get(fd);
    if (!buf) return refuse(fdKind(fd), `fd ${fd} is not a dma-buf`);
    if (offset !== 0n) return refuse('EINVAL', `dma-buf slot at offset ${hex(offset)}, not 0`);
    const size = dmaBufSize(buf);
    if (size !== a.memorySize) {
      return refuse('EINVAL', `size ${hex(a.memorySize)} is not the buffer's ${hex(size)}`);
    }
    if (buf.state !== 'live') return refuse('ENODEV', `dma-buf ${fd} is ${buf.state}`);
    const foreign = dmaBufForeign(h, buf, vm);
    if (foreign) return refuse('EINVAL', foreign);
    // dma_buf_attach (and, under 'sg-table', dma_buf_map_attachment): refused, nothing stays.
    const att = kvmDmaBufImport(m, h, { fd, vmFd: vm.fd, slot: a.slot });
    if (!att.ok) return hostErr('kvm', op, args, att.errno, att.detail, att.events);
    slot.dmaBuf = fd;
    vm.memslots.set(a.slot, slot);
    return hostOk('kvm', op, args, undefined, att.events);
  }
  let bind: { first: number; pages: number } | undefined;
  const file = gmem ? h.kvm.guestMemfds.get(a.guestMemfd ?? -1) : undefined;
  if (gmem) {
    const fd = a.guestMemfd ?? -1;
    if (!file) return refuse(fdKind(fd), `fd ${fd} is not a guest_memfd`);
    if (file.vmFd !== vm.fd) return refuse('EINVAL', `guest_memfd ${fd} is another VM's`);
    const first = Number(offset >> PAGE_SHIFT);
    if (first + pages > file.pages) {
      return refuse('EINVAL', `pages ${first}..${first + pages} pass guest_memfd's ${file.pages}`);
    }
    for (const [other, b] of file.bindings) {
      if (first < b.first + b.pages && b.first < first + pages) {
        return refuse('EEXIST', `guest_memfd ${fd} range is bound to slot ${other}`);
      }
    }
    bind = { first, pages };
    slot.guestMemfd = fd;
  }
  const hpfns = hostPagesFind(m, h, pages);
  if (!hpfns) return refuse('ENOMEM', `no ${pages} free host pages`);

  // Write.
  hostPagesTake(h, hpfns);
  slot.sharedHpfns = hpfns;
  if (file && bind) file.bindings.set(a.slot, bind);
  vm.memslots.set(a.slot, slot);
  return hostOk('kvm', op, args, undefined);
}

/** memory_size 0: the slot's range zapped (private through the driver), then the slot freed. */
async function deleteSlot(
  m: HostMachine,
  h: HostState,
  vmFd: number,
  s: KvmMemslot,
  op: string,
  args: Parameters<typeof hostErr>[2],
): Promise<HostOutcome> {
  const vm = h.kvm.vms.get(vmFd);
  if (!vm) return hostErr('kvm', op, args, 'EBADF', `fd ${vmFd} is not a VM`);
  const r = await mmuZapRange(m, h, vm, s.baseGfn, s.pages);
  if (!r.ok) return hostErr('kvm', op, args, r.errno, r.detail, r.events);
  if (s.sharedHpfns) hostPagesFree(h, s.sharedHpfns);
  if (s.guestMemfd !== undefined) h.kvm.guestMemfds.get(s.guestMemfd)?.bindings.delete(s.slot);
  const events = [...r.events];
  if (s.dmaBuf !== undefined) {
    events.push(...kvmDmaBufRelease(m, h, { fd: s.dmaBuf, vmFd: vm.fd, slot: s.slot }));
  }
  vm.memslots.delete(s.slot);
  return hostOk('kvm', op, args, undefined, events);
}
