/**
 * pci_tsm_ops bind, stop and unbind of the SEV host driver (sev-dev-tsm.c tdi_bind,
 * tdi_unbind), and the host's part in the TDI's trusted DMA.
 *
 * - bind: TIO_TDI_CREATE, then TIO_TDI_BIND with the guest context and the guest's BDF,
 *   which LOCKs the TDI and returns its interface report in one command (CONFIG_LOCKED).
 *   A failed bind reclaims the TDI context it created. The driver does not force RUN here
 *   as the RFC's tdi_bind does: the PSP moves the TDI to RUN when the host relays the
 *   guest's first MMIO_VALIDATE or SDTE_WRITE (TIO_GUEST_REQUEST, guest-req.ts).
 * - stop: TIO_TDI_UNBIND, which STOPs the TDI (CONFIG_UNLOCKED, scrubbed) and gives every
 *   BAR page back to the host. The PSP refuses it without TIO_TDI_UNBIND_FLAG_FORCE while
 *   the guest runs the TDI (SEV_RET_IN_USE) or the device is silent; the driver then forces
 *   it, and a forced unbind of a running TDI fences the guest's ASID. TIO_TDI_STATUS then
 *   reads the state the device reached (tdi_unbind's "verify CONFIG_UNLOCKED" hunk).
 * - unbind: TIO_TDI_RECLAIM, then TIO_ASID_FENCE_STATUS and, when fenced,
 *   TIO_ASID_FENCE_CLEAR (tdi_unbind). The BAR pages are shared again since the stop.
 * - trusted DMA: nothing to command. SEV-TIO Firmware Interface Specification #58271: the
 *   sDTE's host-owned half (the TDI's device table entry tied to the guest's ASID) is
 *   written by the PSP during TIO_TDI_BIND, its guest-owned half (V, IR, IW, VMPL, vTOM)
 *   only by the guest's TIO_MSG_SDTE_WRITE_REQ. The host checks the TDI is bound and
 *   locked (TIO_TDI_STATUS) and records that it is ready for the guest to take over.
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, hex, type PspRun, psp, pspFailed, pspRun, refuseRun } from './firmware.ts';
import { isRefusal, snpGuest } from './guest.ts';
import { devOf, type SevTdiRecord, sevRecords, sevRecordsToWrite } from './records.ts';

type TdiStatus = { tdispState: number; name: string };

/** The statuses after which TIO_TDI_UNBIND goes again with FORCE (tdi_unbind). */
const FORCE_AFTER = new Set([
  'SEV_RET_IN_USE',
  'SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN',
  'SEV_RET_SPDM_ERROR',
]);

export async function sevBind(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vm: VmId; vdevId: number },
): Promise<HostOutcome> {
  const run = pspRun(m);
  const d = devOf(h, a.rid);
  if (!d) return refuseRun(run, 'ENXIO', `${hex(a.rid)}: no device context`);
  if (sevRecords(h).tdis.has(a.rid)) return refuseRun(run, 'EBUSY', `${hex(a.rid)} is bound`);
  const g = snpGuest(run, h, a.vm);
  if (isRefusal(g)) return g;
  const tdiArgs = { dev: d.dev, tdi: a.rid };
  const c = await psp(run, 'TIO_TDI_CREATE', tdiArgs);
  if (!c.ok) return pspFailed(run, c);
  const b = await psp<{ report?: Uint8Array }>(
    run,
    'TIO_TDI_BIND',
    { ...tdiArgs, gctx: g.gctx, guestDeviceId: a.vdevId },
    d.dev,
  );
  if (!b.ok || !b.value?.report) {
    await psp(run, 'TIO_TDI_RECLAIM', tdiArgs);
    return b.ok ? refuseRun(run, 'EIO', 'TIO_TDI_BIND: no interface report') : pspFailed(run, b);
  }
  sevRecordsToWrite(h).tdis.set(a.rid, {
    tdi: a.rid,
    dev: d.dev,
    vm: a.vm,
    gctx: g.gctx,
    guestDeviceId: a.vdevId,
    report: b.value.report,
    phase: 'bound',
    trustedDma: false,
  });
  return doneRun(run, undefined);
}

/** TIO_TDI_UNBIND (forced when refused as in use or silent), then TIO_TDI_STATUS. */
async function unbindTdi(run: PspRun, h: HostState, t: SevTdiRecord): Promise<HostOutcome> {
  const args = { dev: t.dev, tdi: t.tdi, gctx: t.gctx };
  let u = await psp(run, 'TIO_TDI_UNBIND', args, t.dev);
  if (!u.ok && FORCE_AFTER.has(u.status)) {
    u = await psp(run, 'TIO_TDI_UNBIND', { ...args, force: true }, t.dev);
  }
  if (!u.ok) return pspFailed(run, u);
  const s = await psp<TdiStatus>(run, 'TIO_TDI_STATUS', { dev: t.dev, tdi: t.tdi }, t.dev);
  const r = sevRecordsToWrite(h);
  r.tdis.set(t.tdi, {
    ...t,
    phase: 'stopped',
    // A silent device answers no status; the PSP unbound the TDI all the same.
    tdispState: s.ok ? s.value?.name : undefined,
    trustedDma: false,
  });
  for (const e of r.guests.get(t.vm)?.mmio.values() ?? []) {
    if (e.rid === t.tdi) e.released = true;
  }
  return doneRun(run, undefined);
}

export async function sevStop(m: HostMachine, h: HostState, a: { rid: Rid }): Promise<HostOutcome> {
  const run = pspRun(m);
  const t = sevRecords(h).tdis.get(a.rid);
  if (!t) return refuseRun(run, 'ENXIO', `${hex(a.rid)} is not bound`);
  if (t.phase === 'stopped') return doneRun(run, undefined);
  return unbindTdi(run, h, t);
}

export async function sevUnbind(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid },
): Promise<HostOutcome> {
  const run = pspRun(m);
  const t = sevRecords(h).tdis.get(a.rid);
  if (!t) return refuseRun(run, 'ENXIO', `${hex(a.rid)} is not bound`);
  if (t.phase === 'bound') {
    const s = await unbindTdi(run, h, t);
    if (!s.ok) return s;
  }
  const c = await psp(run, 'TIO_TDI_RECLAIM', { dev: t.dev, tdi: t.tdi });
  if (!c.ok) return pspFailed(run, c);
  sevRecordsToWrite(h).tdis.delete(a.rid);
  const asid = sevRecords(h).guests.get(t.vm)?.asid;
  if (asid !== undefined) {
    const f = await psp<{ fenced: boolean }>(run, 'TIO_ASID_FENCE_STATUS', { dev: t.dev, asid });
    if (f.ok && f.value?.fenced) {
      const clear = await psp(run, 'TIO_ASID_FENCE_CLEAR', { dev: t.dev, gctx: t.gctx });
      if (!clear.ok) return pspFailed(run, clear);
    }
  }
  return doneRun(run, undefined);
}

export async function sevEnableTrustedDma(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid },
): Promise<HostOutcome> {
  const run = pspRun(m);
  const t = sevRecords(h).tdis.get(a.rid);
  if (t?.phase !== 'bound') return refuseRun(run, 'ENXIO', `${hex(a.rid)} is not bound`);
  const s = await psp<TdiStatus>(run, 'TIO_TDI_STATUS', { dev: t.dev, tdi: t.tdi }, t.dev);
  if (!s.ok || !s.value) return pspFailed(run, s);
  if (s.value.name !== 'CONFIG_LOCKED' && s.value.name !== 'RUN') {
    return refuseRun(run, 'EINVAL', `TDI ${hex(a.rid)} is ${s.value.name}: no sDTE for the guest`);
  }
  sevRecordsToWrite(h).tdis.set(a.rid, { ...t, tdispState: s.value.name, trustedDma: true });
  return doneRun(run, undefined);
}
