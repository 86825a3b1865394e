/**
 * KVM's TDX arch calls for the TD and its private memory (arch/x86/kvm/vmx/tdx.c): the TD
 * (TDH.MNG.CREATE), its launch finished (TDH.MR.FINALIZE), a guest_memfd page made private
 * (TDH.MEM.PAGE.ADD into the measured image before finalize, TDH.MEM.PAGE.AUG after, which
 * the TD then accepts) and taken back (TDH.MEM.RANGE.BLOCK, TDH.MEM.TRACK, TDH.MEM.PAGE.REMOVE,
 * tdx_sept_zap_private_spte's order).
 */
import type { VmId } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, type SeamRun, seamcall, seamFailed, seamRun } from './firmware.ts';
import { tdxRecords, tdxRecordsToWrite } from './records.ts';

export async function tdxVmCreate(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = seamRun(m);
  const o = await seamcall(run, 'TDH.MNG.CREATE', { td: vm });
  if (!o.ok) return seamFailed(run, o);
  tdxRecordsToWrite(h).tds.set(vm, false);
  return doneRun(run, undefined);
}

export async function tdxVmFinalize(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = seamRun(m);
  const o = await seamcall(run, 'TDH.MR.FINALIZE', { td: vm });
  if (!o.ok) return seamFailed(run, o);
  tdxRecordsToWrite(h).tds.set(vm, true);
  return doneRun(run, undefined);
}

/**
 * The TD goes: its TDR reclaimed (TDH.PHYMEM.PAGE.RECLAIM), refused by the module while a
 * DEVIF is bound to it or a private page is still mapped.
 */
export async function tdxVmDestroy(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = seamRun(m);
  const o = await seamcall(run, 'TDH.PHYMEM.PAGE.RECLAIM', { td: vm });
  if (!o.ok) return seamFailed(run, o);
  const recs = tdxRecordsToWrite(h);
  recs.tds.delete(vm);
  recs.mmio.delete(vm);
  return doneRun(run, undefined);
}

export async function tdxMapPrivatePage(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint; hpfn: bigint },
): Promise<HostOutcome> {
  const run = seamRun(m);
  // A TD the driver did not see finalized is still being built: its pages are measured.
  const call = tdxRecords(h).tds.get(a.vm) ? 'TDH.MEM.PAGE.AUG' : 'TDH.MEM.PAGE.ADD';
  const o = await seamcall(run, call, { td: a.vm, gfn: a.gfn, pfn: a.hpfn });
  if (!o.ok) return seamFailed(run, o);
  return doneRun(run, undefined);
}

/**
 * Block, track, remove: the page leaves the secure EPT once no TLB can still hold it, and the
 * module scrubs it back to the host. Private MMIO has its own calls (mmio.ts).
 */
export function tdxUnmapPrivatePage(
  m: HostMachine,
  _h: HostState,
  a: { vm: VmId; gfn: bigint },
): Promise<HostOutcome> {
  return blockTrackRemove(seamRun(m), a, 'TDH.MEM.RANGE.BLOCK', 'TDH.MEM.PAGE.REMOVE');
}

/**
 * The zap sequence both kinds share. A block already made (by a zap that failed later) is
 * the module's warning TDX_GPA_RANGE_ALREADY_BLOCKED, which is a success: the zap goes on.
 */
export async function blockTrackRemove(
  run: SeamRun,
  a: { vm: VmId; gfn: bigint },
  block: string,
  remove: string,
): Promise<HostOutcome> {
  const page = { td: a.vm, gfn: a.gfn };
  const b = await seamcall(run, block, page);
  if (!b.ok) return seamFailed(run, b);
  const t = await seamcall(run, 'TDH.MEM.TRACK', { td: a.vm });
  if (!t.ok) return seamFailed(run, t);
  const r = await seamcall(run, remove, page);
  if (!r.ok) return seamFailed(run, r);
  return doneRun(run, undefined);
}
