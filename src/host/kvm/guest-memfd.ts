/**
 * KVM_CREATE_GUEST_MEMFD (virt/kvm/guest_memfd.c): a file of private memory for one VM that
 * the host cannot map. Its pages are allocated when the guest first faults them in
 * (kvm_gmem_get_pfn, fault.ts); memslots bind page ranges of it (memslot.ts).
 */
import { PAGE_SIZE } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import { allocFd, type HostState } from '../state.ts';
import { vmOf } from './vm.ts';

/**
 * KVM_CREATE_GUEST_MEMFD {size, flags}: a guest_memfd fd. -EBADF not a VM; -EINVAL for
 * flags (none are supported), a size that is zero or not page aligned, or a VM without
 * private memory (a default VM).
 */
export function kvmCreateGuestMemfd(
  _m: HostMachine,
  h: HostState,
  a: { vmFd: number; size: bigint; flags: number },
): HostOutcome<number> {
  const op = 'KVM_CREATE_GUEST_MEMFD';
  const args = { vmFd: a.vmFd, size: a.size, flags: a.flags };
  const got = vmOf(h, op, args, a.vmFd);
  if ('err' in got) return got.err;
  if (a.flags !== 0) return hostErr('kvm', op, args, 'EINVAL', `flags 0x${a.flags.toString(16)}`);
  if (a.size <= 0n || a.size % BigInt(PAGE_SIZE) !== 0n) {
    return hostErr('kvm', op, args, 'EINVAL', `size ${a.size} is not a positive page multiple`);
  }
  if (got.vm.type !== 'confidential') {
    return hostErr('kvm', op, args, 'EINVAL', `${got.vm.vm} has no private memory`);
  }
  const fd = allocFd(h);
  h.kvm.guestMemfds.set(fd, {
    fd,
    vmFd: a.vmFd,
    pages: Number(a.size / BigInt(PAGE_SIZE)),
    hpfns: new Map(),
    bindings: new Map(),
  });
  return hostOk('kvm', op, args, fd);
}
