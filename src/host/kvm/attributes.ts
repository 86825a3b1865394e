/**
 * KVM_SET_MEMORY_ATTRIBUTES (virt/kvm/kvm_main.c kvm_vm_ioctl_set_mem_attributes): the VMM
 * converts guest frames between private and shared when the guest asks (TDG.VP.VMCALL
 * MapGPA, the GHCB page-state change, RSI_IPA_STATE_SET). A frame that changes is zapped
 * first: its private page leaves the secure EPT through the driver, its shared mapping the
 * shared EPT; the guest faults it in again on the other side.
 */
import { PAGE_SHIFT, PAGE_SIZE, pfnKey } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import { type HostEvent, type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { mmuZap } from './mmu.ts';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from './uapi.ts';
import { vmOf } from './vm.ts';

/**
 * KVM_SET_MEMORY_ATTRIBUTES {address, size, attributes, flags}. -EBADF not a VM; -EINVAL
 * for flags, an attribute the VM does not support (a default VM supports none), a zero,
 * unaligned or wrapping range. When the firmware refuses to remove a private page, the
 * driver's errno: the attributes stay as they were (frames zapped before it stay zapped).
 */
export async function kvmSetMemoryAttributes(
  m: HostMachine,
  h: HostState,
  a: { vmFd: number; address: bigint; size: bigint; attributes: number; flags: number },
): Promise<HostOutcome> {
  const op = 'KVM_SET_MEMORY_ATTRIBUTES';
  const args = {
    vmFd: a.vmFd,
    address: a.address,
    size: a.size,
    attributes: a.attributes,
    flags: a.flags,
  };
  const got = vmOf(h, op, args, a.vmFd);
  if ('err' in got) return got.err;
  const { vm } = got;
  if (a.flags !== 0) return hostErr('kvm', op, args, 'EINVAL', `flags 0x${a.flags.toString(16)}`);
  const supported = vm.type === 'confidential' ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
  if ((a.attributes & ~supported) !== 0) {
    return hostErr(
      'kvm',
      op,
      args,
      'EINVAL',
      `attributes 0x${a.attributes.toString(16)} on ${vm.vm}`,
    );
  }
  const page = BigInt(PAGE_SIZE);
  if (a.size <= 0n || a.address < 0n || a.address % page !== 0n || a.size % page !== 0n) {
    return hostErr('kvm', op, args, 'EINVAL', 'range must be non-empty and page aligned');
  }
  if (a.address + a.size > 1n << 64n) return hostErr('kvm', op, args, 'EINVAL', 'range wraps');

  const toPrivate = (a.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
  const first = a.address >> PAGE_SHIFT;
  const end = (a.address + a.size) >> PAGE_SHIFT;
  const events: HostEvent[] = [];
  for (let gfn = first; gfn < end; gfn++) {
    if ((vm.privateGfns[pfnKey(gfn)] !== undefined) === toPrivate) continue;
    const r = await mmuZap(m, h, vm, gfn);
    events.push(...r.events);
    if (!r.ok) return hostErr('kvm', op, args, r.errno, r.detail, events);
  }
  for (let gfn = first; gfn < end; gfn++) {
    if (toPrivate) vm.privateGfns[pfnKey(gfn)] = true;
    else delete vm.privateGfns[pfnKey(gfn)];
  }
  return hostOk('kvm', op, args, undefined, events);
}
