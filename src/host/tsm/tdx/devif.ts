/**
 * A TDI's DEVIF (struct pci_tsm_ops bind / unbind of Linux's tdx-host driver, SYSTEM.md
 * section 4 steps 3 and 7 in TDX's order): bind creates the DEVIF for the TD
 * (TDH.DEVIF.CREATE) and locks the TDI with the host's own LOCK_INTERFACE_REQUEST
 * (TDH.DEVIF.REQUEST, then TDH.DEVIF.RESPONSE lending the DSM's mailbox). The module does not
 * need the TD's TDG.DEVIF.VALIDATE for the host's LOCK, only for the TD's own requests, so
 * bind ends CONFIG_LOCKED. Stop is the host's STOP_INTERFACE_REQUEST the same way; unbind
 * removes the trusted DMA context (TDH.DMAR.BLOCK, TDH.DMAR.REMOVE), the MMIO metadata table
 * entries and the DEVIF (TDH.DEVIF.REMOVE).
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import { encodeFunctionId } from '../../../wire/tdisp/header.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, refuseRun, type SeamRun, seamcall, seamFailed, seamRun } from './firmware.ts';
import { dsmOf, type TdxDevifRecord, tdxRecords, tdxRecordsToWrite } from './records.ts';

const hex = (v: number) => `0x${v.toString(16)}`;

/** FUNCTION_ID of a TDI in segment 0: its requester id (TDISP InterfaceID bits 15:0). */
const functionIdOf = (rid: Rid): number =>
  encodeFunctionId({ requesterId: rid, segment: 0, segmentValid: false });

/** The host's own TDISP request on a DEVIF: generated, then carried over the DSM's mailbox. */
async function hostRequest(
  run: SeamRun,
  d: { functionId: number; dsm: Rid },
  request: 'LOCK_INTERFACE_REQUEST' | 'STOP_INTERFACE_REQUEST',
): Promise<HostOutcome> {
  const args =
    request === 'LOCK_INTERFACE_REQUEST'
      ? // Firmware may not be updated while the TD relies on what it measured.
        { functionId: d.functionId, request, noFwUpdate: true }
      : { functionId: d.functionId, request };
  const g = await seamcall(run, 'TDH.DEVIF.REQUEST', args);
  if (!g.ok) return seamFailed(run, g);
  const r = await seamcall(run, 'TDH.DEVIF.RESPONSE', { functionId: d.functionId }, d.dsm);
  if (!r.ok) return seamFailed(run, r);
  return doneRun(run, undefined);
}

export async function tdxBind(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vm: VmId; vdevId: number },
): Promise<HostOutcome> {
  const run = seamRun(m);
  const recs = tdxRecords(h);
  const dsm = dsmOf(h, a.rid);
  if (dsm === undefined || !recs.devices.has(dsm)) {
    return refuseRun(run, 'ENXIO', `${hex(a.rid)}: its DSM is not connected`);
  }
  if (recs.devifs.has(a.rid)) return refuseRun(run, 'EBUSY', `${hex(a.rid)} has a DEVIF`);
  const d = { functionId: functionIdOf(a.rid), dsm };
  const c = await seamcall(run, 'TDH.DEVIF.CREATE', {
    functionId: d.functionId,
    device: dsm,
    td: a.vm,
  });
  if (!c.ok) return seamFailed(run, c);
  const lock = await hostRequest(run, d, 'LOCK_INTERFACE_REQUEST');
  if (!lock.ok) {
    // The TDI did not lock: the DEVIF goes again, so a refused bind leaves nothing.
    await seamcall(run, 'TDH.DEVIF.REMOVE', { functionId: d.functionId });
    return lock;
  }
  const rec: TdxDevifRecord = { rid: a.rid, ...d, td: a.vm, tdisp: 'locked', dma: false };
  tdxRecordsToWrite(h).devifs.set(a.rid, rec);
  return doneRun(run, undefined);
}

/** The driver's DEVIF of `rid`, or the refusal for a TDI it did not bind. */
export function devifOf(h: HostState, run: SeamRun, rid: Rid): TdxDevifRecord | HostOutcome<never> {
  return tdxRecords(h).devifs.get(rid) ?? refuseRun(run, 'ENXIO', `${hex(rid)} has no DEVIF`);
}

export const isRefusal = (x: TdxDevifRecord | HostOutcome<never>): x is HostOutcome<never> =>
  'ok' in x;

/** STOP_INTERFACE_REQUEST: CONFIG_UNLOCKED, the device scrubs the TDI's state. Once is enough. */
export async function tdxStop(m: HostMachine, h: HostState, a: { rid: Rid }): Promise<HostOutcome> {
  const run = seamRun(m);
  const d = devifOf(h, run, a.rid);
  if (isRefusal(d)) return d;
  if (d.tdisp === 'stopped') return doneRun(run, undefined);
  const r = await hostRequest(run, d, 'STOP_INTERFACE_REQUEST');
  if (!r.ok) return r;
  tdxRecordsToWrite(h).devifs.set(a.rid, { ...d, tdisp: 'stopped' });
  return r;
}

/**
 * Unbind. Refused (-EBUSY) before any call while the TDI is not stopped or a page of its
 * private MMIO is still mapped: the module would refuse TDH.DEVIF.REMOVE for either, but only
 * after the trusted DMA context and the table entries were already gone. Each step is
 * recorded as the module confirms it, so an unbind a later call failed can be retried.
 */
export async function tdxUnbind(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid },
): Promise<HostOutcome> {
  const run = seamRun(m);
  const d = devifOf(h, run, a.rid);
  if (isRefusal(d)) return d;
  if (d.tdisp !== 'stopped') {
    return refuseRun(run, 'EBUSY', `${hex(a.rid)} is locked or running: stop it first`);
  }
  const recs = tdxRecords(h);
  const mapped = [...recs.mmio.values()].flatMap((td) =>
    [...td.values()].filter((p) => p.rid === a.rid),
  );
  if (mapped.length > 0) {
    return refuseRun(run, 'EBUSY', `${hex(a.rid)}: ${mapped.length} private MMIO page(s) mapped`);
  }
  const fn = { functionId: d.functionId };
  if (d.dma) {
    for (const call of ['TDH.DMAR.BLOCK', 'TDH.DMAR.REMOVE']) {
      const o = await seamcall(run, call, fn);
      // A block a failed unbind already made is the state REMOVE wants.
      if (!o.ok && !(call === 'TDH.DMAR.BLOCK' && o.status === 'TDX_DMAR_INVALID_MAPPING_STATE')) {
        return seamFailed(run, o);
      }
    }
    tdxRecordsToWrite(h).devifs.set(a.rid, { ...d, dma: false });
  }
  for (const [pfn, owner] of recs.mmiomt) {
    if (owner !== a.rid) continue;
    const o = await seamcall(run, 'TDH.MMIOMT.REMOVE', { pfn });
    if (!o.ok) return seamFailed(run, o);
    tdxRecordsToWrite(h).mmiomt.delete(pfn);
  }
  const o = await seamcall(run, 'TDH.DEVIF.REMOVE', fn);
  if (!o.ok) return seamFailed(run, o);
  tdxRecordsToWrite(h).devifs.delete(a.rid);
  return doneRun(run, undefined);
}

/** The DEVIF's trusted DMA context for its TD, which the TD then accepts (TDG.DMAR.ACCEPT). */
export async function tdxEnableTrustedDma(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid },
): Promise<HostOutcome> {
  const run = seamRun(m);
  const d = devifOf(h, run, a.rid);
  if (isRefusal(d)) return d;
  const o = await seamcall(run, 'TDH.DMAR.ADD', { functionId: d.functionId });
  if (!o.ok) return seamFailed(run, o);
  tdxRecordsToWrite(h).devifs.set(a.rid, { ...d, dma: true });
  return doneRun(run, undefined);
}
