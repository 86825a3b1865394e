/**
 * Private MMIO of a TD (KVM's TDX Connect MMIO path): a BAR page of a bound TDI entered in the
 * MMIO metadata table for the TDI's DEVIF (TDH.MMIOMT.ADD, TDH.MMIOMT.SET; the module reads
 * the page's owner from there, never from the host), then mapped at a guest frame
 * (TDH.MMIO.MAP), pending until the TD's TDG.MMIO.ACCEPT. Unmapping is block, track, unmap
 * (TDH.MMIO.BLOCK, TDH.MEM.TRACK, TDH.MMIO.UNMAP); the table entry stays until unbind.
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, refuseRun, seamcall, seamFailed, seamRun } from './firmware.ts';
import { tdxRecords, tdxRecordsToWrite } from './records.ts';
import { blockTrackRemove } from './td.ts';

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/**
 * Maps BAR page `pfn` of TDI `rid` at `gfn`. A page the driver has not entered yet is added
 * and set for the TDI's DEVIF first, and taken out of the table again when the map is
 * refused, so a refusal leaves the module's records as they were. Whether the TDI may have
 * the page there (bound to this TD, LOCKED, the page in a TEE range of its report) is the
 * module's to decide at TDH.MMIO.MAP; the driver does not second-guess it. Without a DEVIF
 * the driver has nothing to enter and the map is the module's to refuse.
 */
export async function tdxMapPrivateMmio(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint; pfn: bigint; rid: Rid },
): Promise<HostOutcome> {
  const run = seamRun(m);
  const recs = tdxRecords(h);
  const devif = recs.devifs.get(a.rid);
  const owner = recs.mmiomt.get(a.pfn);
  if (owner !== undefined && owner !== a.rid) {
    // TDH.MMIOMT.SET would hand the page to this DEVIF behind the other one's back.
    return refuseRun(run, 'EBUSY', `page ${hex(a.pfn)} is TDI ${hex(owner)}'s`);
  }
  const add = devif !== undefined && owner === undefined;
  if (add) {
    const o = await seamcall(run, 'TDH.MMIOMT.ADD', { pfn: a.pfn });
    if (!o.ok) return seamFailed(run, o);
    const s = await seamcall(run, 'TDH.MMIOMT.SET', { pfn: a.pfn, functionId: devif.functionId });
    if (!s.ok) {
      await seamcall(run, 'TDH.MMIOMT.REMOVE', { pfn: a.pfn });
      return seamFailed(run, s);
    }
  }
  const map = await seamcall(run, 'TDH.MMIO.MAP', { td: a.vm, gfn: a.gfn, pfn: a.pfn });
  if (!map.ok) {
    if (add) await seamcall(run, 'TDH.MMIOMT.REMOVE', { pfn: a.pfn });
    return seamFailed(run, map);
  }
  const w = tdxRecordsToWrite(h);
  if (add) w.mmiomt.set(a.pfn, a.rid);
  const td = w.mmio.get(a.vm) ?? new Map();
  td.set(a.gfn, { pfn: a.pfn, rid: a.rid });
  w.mmio.set(a.vm, td);
  return doneRun(run, undefined);
}

/**
 * Unmaps the private MMIO page at `gfn`. The module unmaps a page of a TDI only once it is
 * CONFIG_UNLOCKED (or its stream blocked), and only after the page was blocked and the block
 * tracked, which the host has no call to undo: a page blocked under a running TD would stay
 * unusable to it. So the driver refuses (-EBUSY) before blocking a page of a TDI it locked
 * and has not stopped, the module's own rule checked from what the driver did.
 */
export async function tdxUnmapPrivateMmio(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint },
): Promise<HostOutcome> {
  const run = seamRun(m);
  const recs = tdxRecords(h);
  const page = recs.mmio.get(a.vm)?.get(a.gfn);
  const devif = page === undefined ? undefined : recs.devifs.get(page.rid);
  if (devif?.tdisp === 'locked') {
    return refuseRun(
      run,
      'EBUSY',
      `gfn ${hex(a.gfn)}: TDI ${hex(devif.rid)} is locked or running: stop it first`,
    );
  }
  const r = await blockTrackRemove(run, a, 'TDH.MMIO.BLOCK', 'TDH.MMIO.UNMAP');
  if (!r.ok) return r;
  const td = tdxRecordsToWrite(h).mmio.get(a.vm);
  td?.delete(a.gfn);
  if (td?.size === 0) tdxRecordsToWrite(h).mmio.delete(a.vm);
  return r;
}
