/**
 * KVM_CREATE_VM (virt/kvm/kvm_main.c) and the end of a confidential VM's launch: a default VM
 * is KVM's alone; a confidential one (KVM_X86_TDX_VM, KVM_X86_SNP_VM, a realm) also exists
 * in the firmware, created through the flavour's TSM host driver (TDH.MNG.CREATE,
 * SNP_LAUNCH_START, RMI_REALM_CREATE).
 */
import { PAGE_SHIFT, type VmId } from '../../platform/ids.ts';
import { pfnTable } from '../../platform/pfn-table.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import { allocFd, type HostState } from '../state.ts';
import { tsmDriver } from '../tsm/index.ts';
import { kvmSetUserMemoryRegion2 } from './memslot.ts';
import { hostPagesFree } from './mm.ts';
import type { KvmVm } from './state.ts';

/** The name the firmware knows the VM of fd `fd` by. */
const vmName = (fd: number): VmId => `kvm-vm-${fd}`;

/**
 * KVM_CREATE_VM: a VM fd. -EINVAL for a confidential type when the platform has no TSM
 * host driver (the type is not supported); the driver's errno when the firmware refuses.
 */
export async function kvmCreateVm(
  m: HostMachine,
  h: HostState,
  a: { type: KvmVm['type'] },
): Promise<HostOutcome<number>> {
  const op = 'KVM_CREATE_VM';
  const args = { type: a.type };
  // The fd is known before the firmware call (it names the VM) and taken only after it.
  const fd = h.nextFd;
  const vm = vmName(fd);
  let events: HostOutcome['events'] = [];
  if (a.type === 'confidential') {
    const driver = tsmDriver(m);
    if (!driver) return hostErr('kvm', op, args, 'EINVAL', `${m.flavour}: no confidential VM type`);
    const r = await driver.vmCreate(m, h, vm);
    if (!r.ok) return hostErr('kvm', op, args, r.errno, r.detail, r.events);
    events = r.events;
  }
  allocFd(h);
  h.kvm.vms.set(fd, {
    fd,
    vm,
    type: a.type,
    finalized: false,
    memslots: new Map(),
    privateGfns: pfnTable(),
    mirror: pfnTable(),
    sharedMapped: pfnTable(),
  });
  return hostOk('kvm', op, { ...args, vm }, fd, events);
}

/** The VM of fd `vmFd`, or the refusal of `op` with -EBADF. */
export function vmOf(
  h: HostState,
  op: string,
  args: Parameters<typeof hostErr>[2],
  vmFd: number,
): { vm: KvmVm } | { err: HostOutcome<never> } {
  const vm = h.kvm.vms.get(vmFd);
  return vm ? { vm } : { err: hostErr('kvm', op, args, 'EBADF', `fd ${vmFd} is not a VM`) };
}

/** The launch-finish ioctl of each flavour's confidential VMs. */
const FINALIZE_OP: Readonly<Record<string, string>> = {
  tdx: 'KVM_TDX_FINALIZE_VM',
  sev: 'KVM_SEV_SNP_LAUNCH_FINISH',
  cca: 'KVM_ARM_RME_ACTIVATE_REALM',
};

/**
 * The launch finished: measured pages can no longer be added (TDH.MR.FINALIZE,
 * SNP_LAUNCH_FINISH, RMI_REALM_ACTIVATE). -EBADF not a VM, -EINVAL a default VM or finalized.
 */
export async function kvmFinalizeVm(
  m: HostMachine,
  h: HostState,
  a: { vmFd: number },
): Promise<HostOutcome> {
  const op = FINALIZE_OP[m.flavour] ?? 'KVM_MEMORY_ENCRYPT_OP';
  const args = { vmFd: a.vmFd };
  const got = vmOf(h, op, args, a.vmFd);
  if ('err' in got) return got.err;
  const { vm } = got;
  const driver = tsmDriver(m);
  if (vm.type !== 'confidential' || !driver) {
    return hostErr('kvm', op, args, 'EINVAL', `${vm.vm} is not a confidential VM`);
  }
  if (vm.finalized) return hostErr('kvm', op, args, 'EINVAL', `${vm.vm} is already finalized`);
  const r = await driver.vmFinalize(m, h, vm.vm);
  if (!r.ok) return hostErr('kvm', op, args, r.errno, r.detail, r.events);
  vm.finalized = true;
  return hostOk('kvm', op, args, undefined, r.events);
}

/**
 * close of the VM fd (kvm_vm_release -> kvm_destroy_vm; its guest_memfds, which the VMM closes
 * with it, go too): every memslot zapped and freed (private pages through the driver), the
 * guest_memfd pages given back, then the firmware's VM destroyed (TDH.PHYMEM.PAGE.RECLAIM,
 * SNP_DECOMMISSION, RMI_REALM_DESTROY). -EBADF not a VM; -EBUSY, before anything, while a TDI
 * is TSM-bound to the VM (its vIOMMU holds the VM: the VMM releases the device first). A zap
 * or destroy the firmware refuses ends the close with the driver's errno; what went before
 * stays done, as in the kernel.
 */
export async function kvmDestroyVm(
  m: HostMachine,
  h: HostState,
  a: { vmFd: number },
): Promise<HostOutcome> {
  const op = 'close';
  const args = { fd: a.vmFd };
  const got = vmOf(h, op, args, a.vmFd);
  if ('err' in got) return got.err;
  const { vm } = got;
  for (const d of h.pciTsm.devices.values()) {
    for (const [rid, b] of d.bound) {
      if (b.vm === vm.vm) {
        return hostErr('kvm', op, args, 'EBUSY', `TDI 0x${rid.toString(16)} is bound to ${vm.vm}`);
      }
    }
  }
  const events: HostOutcome['events'] = [];
  for (const s of [...vm.memslots.values()]) {
    const r = await kvmSetUserMemoryRegion2(m, h, {
      vmFd: vm.fd,
      slot: s.slot,
      flags: s.flags,
      guestPhysAddr: s.baseGfn << PAGE_SHIFT,
      memorySize: 0n,
    });
    events.push(...r.events);
    if (!r.ok) return hostErr('kvm', op, args, r.errno, r.detail, events);
  }
  for (const [fd, f] of h.kvm.guestMemfds) {
    if (f.vmFd !== vm.fd) continue;
    hostPagesFree(h, f.hpfns.values());
    h.kvm.guestMemfds.delete(fd);
  }
  const driver = tsmDriver(m);
  if (vm.type === 'confidential' && driver) {
    const r = await driver.vmDestroy(m, h, vm.vm);
    events.push(...r.events);
    if (!r.ok) return hostErr('kvm', op, args, r.errno, r.detail, events);
  }
  h.kvm.vms.delete(vm.fd);
  return hostOk('kvm', op, args, undefined, events);
}
