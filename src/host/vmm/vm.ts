/**
 * A confidential VM as the VMM builds, runs and ends it (QEMU's accel/kvm and its TDX, SEV-SNP
 * and CCA machine code), through KVM's uAPI only:
 *
 * - create: KVM_CREATE_VM of the confidential type, KVM_CREATE_GUEST_MEMFD for its RAM, one
 *   KVM_SET_USER_MEMORY_REGION2 slot at GPA 0 with KVM_MEM_GUEST_MEMFD (shared backing and
 *   guest_memfd pages), and the RAM set private with KVM_SET_MEMORY_ATTRIBUTES, as QEMU does
 *   for a TD or an SNP guest (the guest converts what it shares);
 * - finalize: the end of the launch (KVM_TDX_FINALIZE_VM, KVM_SEV_SNP_LAUNCH_FINISH,
 *   KVM_ARM_RME_ACTIVATE_REALM);
 * - run: KVM_RUN until the guest's access to one GPA is mapped or exits: a
 *   KVM_EXIT_MEMORY_FAULT is answered as QEMU's kvm_convert_memory does, by converting the
 *   frame to what the guest asked for and entering again;
 * - destroy: the assigned devices released (device.ts), then the VM fd closed.
 */

import type { Errno } from '../errno.ts';
import { kvmSetMemoryAttributes } from '../kvm/attributes.ts';
import type { KvmFaultResult } from '../kvm/fault.ts';
import { kvmFault } from '../kvm/fault.ts';
import { kvmCreateGuestMemfd } from '../kvm/guest-memfd.ts';
import { kvmSetUserMemoryRegion2 } from '../kvm/memslot.ts';
import {
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
} from '../kvm/uapi.ts';
import { kvmCreateVm, kvmDestroyVm, kvmFinalizeVm } from '../kvm/vm.ts';
import type { HostMachine } from '../machine.ts';
import type { HostEvent, HostOutcome } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { vmmReleaseDevice } from './device.ts';
import { vmmErr, vmmFailed, vmmOk } from './outcome.ts';
import { VMM_MMIO_BASE, type VmmState } from './state.ts';

const PAGE = 0x1000n;

/**
 * A confidential VM with `ramPages` pages of RAM at GPA 0; its KVM VM fd. -EINVAL a RAM size
 * that is not a positive number of pages or reaches the device MMIO window; KVM's errno
 * otherwise. A step that fails after KVM_CREATE_VM closes the VM again.
 */
export async function vmmCreateVm(
  m: HostMachine,
  h: HostState,
  s: VmmState,
  a: { ramPages: number },
): Promise<HostOutcome<number>> {
  const op = 'kvm_init';
  const args = { ramPages: a.ramPages };
  const size = BigInt(a.ramPages) * PAGE;
  if (!Number.isInteger(a.ramPages) || a.ramPages <= 0 || size > VMM_MMIO_BASE) {
    return vmmErr(op, args, 'EINVAL', `${a.ramPages} pages of RAM`);
  }
  const events: HostEvent[] = [];
  const c = await kvmCreateVm(m, h, { type: 'confidential' });
  events.push(...c.events);
  if (!c.ok) return vmmFailed(op, args, c, events);
  const vmFd = c.value;
  // What KVM_CREATE_VM made goes again (the firmware's VM with it).
  const fail = async (r: { errno: Errno; detail: string }) => {
    events.push(...(await kvmDestroyVm(m, h, { vmFd })).events);
    return vmmFailed<number>(op, args, r, events);
  };
  const g = kvmCreateGuestMemfd(m, h, { vmFd, size, flags: 0 });
  events.push(...g.events);
  if (!g.ok) return fail(g);
  const slot = 0;
  const r = await kvmSetUserMemoryRegion2(m, h, {
    vmFd,
    slot,
    flags: KVM_MEM_GUEST_MEMFD,
    guestPhysAddr: 0n,
    memorySize: size,
    guestMemfd: g.value,
    guestMemfdOffset: 0n,
  });
  events.push(...r.events);
  if (!r.ok) return fail(r);
  const p = await kvmSetMemoryAttributes(m, h, {
    vmFd,
    address: 0n,
    size,
    attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE,
    flags: 0,
  });
  events.push(...p.events);
  if (!p.ok) return fail(p);
  const vm = h.kvm.vms.get(vmFd)?.vm ?? '';
  s.vms.set(vmFd, {
    vmFd,
    vm,
    guestMemfd: g.value,
    ramSlot: slot,
    ramPages: a.ramPages,
    nextSlot: slot + 1,
    nextMmioGpa: VMM_MMIO_BASE,
    devices: new Map(),
  });
  return vmmOk(op, { ...args, vmFd, vm }, vmFd, events);
}

/** QEMU's end of the launch, by flavour (its machine-init-done notifier). */
const FINALIZE_OP: Readonly<Record<string, string>> = {
  tdx: 'tdx_finalize_vm',
  sev: 'sev_snp_launch_finish',
  cca: 'kvm_arm_rme_init_done',
};

/** The launch finished. -EBADF a VM this VMM does not run; KVM's errno otherwise. */
export async function vmmFinalizeVm(
  m: HostMachine,
  h: HostState,
  s: VmmState,
  vmFd: number,
): Promise<HostOutcome> {
  const op = FINALIZE_OP[m.flavour] ?? 'kvm_finalize';
  const args = { vmFd };
  if (!s.vms.has(vmFd)) return vmmErr(op, args, 'EBADF', `fd ${vmFd} is not a VM of this VMM`);
  const r = await kvmFinalizeVm(m, h, { vmFd });
  return r.ok ? vmmOk(op, args, undefined, r.events) : vmmFailed(op, args, r, r.events);
}

/**
 * KVM_RUN until the guest's access to `gpa` (private or shared) is mapped, or exits for
 * emulation (KVM_EXIT_MMIO): what the fault came to. A KVM_EXIT_MEMORY_FAULT is converted
 * once with KVM_SET_MEMORY_ATTRIBUTES and the guest entered again; a second one is returned
 * (the access cannot be mapped as asked, e.g. a private access to a shared dma-buf).
 */
export async function vmmRun(
  m: HostMachine,
  h: HostState,
  s: VmmState,
  vmFd: number,
  a: { gpa: bigint; private: boolean },
): Promise<HostOutcome<KvmFaultResult>> {
  const op = 'KVM_RUN';
  const args = { vmFd, gpa: a.gpa, private: a.private };
  if (!s.vms.has(vmFd)) return vmmErr(op, args, 'EBADF', `fd ${vmFd} is not a VM of this VMM`);
  const events: HostEvent[] = [];
  for (let entry = 0; ; entry++) {
    const f = await kvmFault(m, h, { vmFd, gpa: a.gpa, private: a.private });
    events.push(...f.events);
    if (!f.ok) return vmmFailed(op, args, f, events);
    const exit = f.value;
    if (exit.exit !== 'KVM_EXIT_MEMORY_FAULT' || entry > 0) {
      return vmmOk(op, { ...args, exit: exit.exit }, exit, events);
    }
    const c = await kvmSetMemoryAttributes(m, h, {
      vmFd,
      address: exit.gpa,
      size: exit.size,
      attributes: exit.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
      flags: 0,
    });
    events.push(...c.events);
    if (!c.ok) return vmmFailed(op, args, c, events);
  }
}

/**
 * The VM ended: each assigned device released (unbound if bound, its slots deleted, closed),
 * then the VM fd closed. -EBADF a VM this VMM does not run; the first failing step's errno
 * (what was released before it stays released).
 */
export async function vmmDestroyVm(
  m: HostMachine,
  h: HostState,
  s: VmmState,
  vmFd: number,
): Promise<HostOutcome> {
  const op = 'qemu_cleanup';
  const args = { vmFd };
  const v = s.vms.get(vmFd);
  if (!v) return vmmErr(op, args, 'EBADF', `fd ${vmFd} is not a VM of this VMM`);
  const events: HostEvent[] = [];
  for (const vdevId of [...v.devices.keys()]) {
    const r = await vmmReleaseDevice(m, h, s, vmFd, vdevId);
    events.push(...r.events);
    if (!r.ok) return vmmFailed(op, args, r, events);
  }
  const r = await kvmDestroyVm(m, h, { vmFd });
  events.push(...r.events);
  if (!r.ok) return vmmFailed(op, args, r, events);
  s.vms.delete(vmFd);
  return vmmOk(op, args, undefined, events);
}
