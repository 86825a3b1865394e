/**
 * The TSM's confidential VMs (TDX TDH.MNG.CREATE / TDH.MR.FINALIZE, SEV SNP_LAUNCH_START /
 * LAUNCH_FINISH, CCA REALM_CREATE / REALM_ACTIVATE): the VM a TDI can be bound to, with its
 * secure EPT. A VM with a TDI bound, or with a page still mapped, cannot go away.
 */
import { pfnValues } from '../pfn-table.ts';
import type { Platform } from '../platform.ts';
import { createSept, septFinalize } from '../sept.ts';
import { ok, refuse, type TsmResult } from './result.ts';
import type { VmId } from './state.ts';

export function tsmVmCreate(p: Platform, vm: VmId): TsmResult {
  if (p.tsm.vms.has(vm) || p.hw.septs.has(vm)) return refuse('vm-exists', `VM ${vm} exists`);
  p.tsm.vms.set(vm, { id: vm, finalized: false, tdis: new Set() });
  p.hw.septs.set(vm, createSept(vm));
  return ok;
}

/** The initial image is measured: pages and MMIO added from now on wait for the guest's accept. */
export function tsmVmFinalize(p: Platform, vm: VmId): TsmResult {
  const v = p.tsm.vms.get(vm);
  const sept = p.hw.septs.get(vm);
  if (!v || !sept) return refuse('no-such-vm', `no VM ${vm}`);
  if (v.finalized) return refuse('vm-finalized', `VM ${vm} is finalized`);
  v.finalized = true;
  septFinalize(sept);
  return ok;
}

export function tsmVmDestroy(p: Platform, vm: VmId): TsmResult {
  const v = p.tsm.vms.get(vm);
  if (!v) return refuse('no-such-vm', `no VM ${vm}`);
  if (v.tdis.size > 0) return refuse('tdi-bound', `VM ${vm} has TDIs bound: ${[...v.tdis]}`);
  const live = pfnValues(p.hw.septs.get(vm)?.entries ?? {}).filter((e) => e.state !== 'removed');
  if (live.length > 0) return refuse('page-mapped', `VM ${vm} still maps ${live.length} pages`);
  p.tsm.vms.delete(vm);
  p.hw.septs.delete(vm);
  return ok;
}
