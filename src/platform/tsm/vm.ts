/**
 * The TSM's confidential VMs (TDX TDH.MNG.CREATE / TDH.MR.FINALIZE, SEV SNP_LAUNCH_START /
 * LAUNCH_FINISH, CCA REALM_CREATE / REALM_ACTIVATE): the VM a TDI can be bound to. A VM
 * with a TDI bound cannot go away.
 */
import { ok, refuse, type TsmResult } from './result.ts';
import type { TsmState, VmId } from './state.ts';

export function tsmVmCreate(tsm: TsmState, vm: VmId): TsmResult {
  if (tsm.vms.has(vm)) return refuse('vm-exists', `VM ${vm} exists`);
  tsm.vms.set(vm, { id: vm, finalized: false, tdis: new Set() });
  return ok;
}

export function tsmVmFinalize(tsm: TsmState, vm: VmId): TsmResult {
  const v = tsm.vms.get(vm);
  if (!v) return refuse('no-such-vm', `no VM ${vm}`);
  if (v.finalized) return refuse('vm-finalized', `VM ${vm} is finalized`);
  v.finalized = true;
  return ok;
}

export function tsmVmDestroy(tsm: TsmState, vm: VmId): TsmResult {
  const v = tsm.vms.get(vm);
  if (!v) return refuse('no-such-vm', `no VM ${vm}`);
  if (v.tdis.size > 0) return refuse('tdi-bound', `VM ${vm} has TDIs bound: ${[...v.tdis]}`);
  tsm.vms.delete(vm);
  return ok;
}
