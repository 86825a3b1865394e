/**
 * The DEVIF's TDISP request path (intel/tdx-module tdxio: tdh_devif_request.c,
 * tdh_devif_response.c, tdg_devif_request.c, tdisp.c): who may ask for which request, the one
 * outstanding request per DEVIF, and the carried exchange that completes it.
 *
 * Why REQUEST and RESPONSE are two calls here too: the rules live at REQUEST (the host may
 * generate LOCK, GET_STATE and STOP; a TD's GET_REPORT, GET_STATE or START only after the TD
 * asked with TDG.DEVIF.REQUEST; one request outstanding; in ERROR only GET_STATE and STOP),
 * and RESPONSE is where the device's answer changes the records. The message bytes
 * themselves are made when RESPONSE lends the carrier: the core's SPDM requester seals a
 * message with the session's next sequence number at the moment it goes out, so the TSM
 * cannot hand out a sealed request and accept its answer in a later call without a second
 * engine. The host still sees only ciphertext either way; what it can do (drop, delay,
 * alter) is what a carrier can do.
 */

import { PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE } from '../../wire/tdisp/constants.ts';
import type { InterfaceReport } from '../../wire/tdisp/report.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import { msixLockFlag } from '../switches.ts';
import { linkHasSession, type TsmEnv } from '../tsm/link.ts';
import type { TsmResult } from '../tsm/result.ts';
import type { TsmTdi, VmId } from '../tsm/state.ts';
import { tsmTdiLock, tsmTdiReport, tsmTdiStart, tsmTdiState, tsmTdiStop } from '../tsm/tdi.ts';
import { fail, refusal, success, type TdxAnswer } from './outcome.ts';
import { reportRefusal } from './report-policy.ts';
import type { TdispRequestName, TdxDevif, TdxOutstanding, TdxPlatform } from './state.ts';

/** The DEVIF of `functionId` and its core TDI record. */
export function devifOf(
  p: TdxPlatform,
  functionId: number,
): { ok: true; devif: TdxDevif; tdi: TsmTdi } | { ok: false; answer: TdxAnswer<never> } {
  const rid = functionId & 0xffff;
  const devif = p.vendor.devifs.get(rid);
  const tdi = p.tsm.tdis.get(rid);
  if (!devif || !tdi) {
    return { ok: false, answer: fail('TDX_DEVIFMT_NOT_PRESENT', `no DEVIF for function ${rid}`) };
  }
  return { ok: true, devif, tdi };
}

/** The DEVIF, which must be bound to the calling TD (devifmt.c: TDX_DEVIF_INVALID_METADATA). */
export function tdDevifOf(
  p: TdxPlatform,
  td: VmId,
  functionId: number,
): ReturnType<typeof devifOf> {
  const d = devifOf(p, functionId);
  if (d.ok && d.devif.td !== td) {
    return {
      ok: false,
      answer: fail('TDX_DEVIF_INVALID_METADATA', `DEVIF ${d.devif.rid} belongs to ${d.devif.td}`),
    };
  }
  return d;
}

/**
 * Whether the device's SPDM session is gone from the TSM's requester while the core's record
 * still names it: a message the host dropped ends a secured session (its sequence numbers
 * no longer agree), and the core's linkChannel then throws rather than refusing. Until the
 * core answers that itself, the flavour refuses such a call with TDX_SPDM_INVALID_STATE.
 */
export function sessionLost(p: TdxPlatform, _env: TsmEnv, device: number): boolean {
  const link = p.tsm.devices.get(device)?.link;
  if (!link) return false;
  return !linkHasSession(p, device, link.sessionId);
}

/** Allowed in TDISP ERROR: only reading the state, and STOP. */
export const ERROR_REQUESTS: readonly TdispRequestName[] = [
  'GET_DEVICE_INTERFACE_STATE',
  'STOP_INTERFACE_REQUEST',
];

/** What the exchange answers: its status and what the requester reads back. */
export type ExchangeAnswer = TdxAnswer<Uint8Array | string>;

/**
 * Carries the outstanding request through `carrier` and processes the device's answer. The
 * outstanding request is consumed whatever the answer (the exchange is over; the host may
 * generate the next one).
 */
export async function carryOutstanding(
  p: TdxPlatform,
  env: TsmEnv,
  devif: TdxDevif,
  out: TdxOutstanding,
  carrier: RequesterTransport,
): Promise<ExchangeAnswer> {
  devif.outstanding = undefined;
  const rid = devif.rid;
  switch (out.code) {
    case 'LOCK_INTERFACE_REQUEST': {
      // The module's LOCK carries NO_FW_UPDATE as the host asked (tdisp.c
      // assign_tdisp_header) and LOCK_MSIX only where the platform makes the MSI-X table
      // private (question 11; the module's own answer is no: MSI-X and TPH stay outside the
      // TD's trust and must read back as zero).
      const flags =
        (out.noFwUpdate ? PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE : 0) |
        msixLockFlag(p.switches, 'tdx');
      const r = await tsmTdiLock(p, env, rid, carrier, {
        flags,
        reportingOffset: devif.reportingOffset,
      });
      if (r.ok) devif.lockFlags = flags;
      return exchanged(r);
    }
    case 'GET_DEVICE_INTERFACE_STATE': {
      const r = await tsmTdiState(p, env, rid, carrier);
      // A TDI found in ERROR leaves the DEVIF invalid (tdisp.c): STOP is the way out.
      if (r.ok && r.value === 'ERROR') devif.valid = false;
      return exchanged(r);
    }
    case 'STOP_INTERFACE_REQUEST': {
      const r = await tsmTdiStop(p, env, rid, carrier);
      // After STOP the TD must validate the DEVIF again before using it (tdisp.c clears valid).
      if (r.ok) {
        devif.valid = false;
        devif.lockFlags = undefined;
      }
      return exchanged(r);
    }
    case 'GET_DEVICE_INTERFACE_REPORT':
      return carryReport(p, env, devif, carrier);
    case 'START_INTERFACE_REQUEST':
      return exchanged(await tsmTdiStart(p, env, rid, carrier));
  }
}

/** The report, refused as a whole when it shows what TDX Connect does not support. */
async function carryReport(
  p: TdxPlatform,
  env: TsmEnv,
  devif: TdxDevif,
  carrier: RequesterTransport,
): Promise<ExchangeAnswer> {
  const tdi = p.tsm.tdis.get(devif.rid);
  const before = tdi?.report;
  const r = await tsmTdiReport(p, env, devif.rid, carrier);
  if (!r.ok) return exchanged(r);
  const why = reportRefusal(r.value.report as InterfaceReport, devif.lockFlags ?? 0);
  if (why !== undefined) {
    // The core keeps what it fetched; a refused report must not become the TDI's report
    // (nothing may be mapped or started from it), and the DEVIF is no longer usable.
    if (tdi) tdi.report = before;
    devif.valid = false;
    return fail('TDX_DEVIF_INVALID_TDI_CONFIGURATION', `report refused: ${why}`);
  }
  return { status: 'TDX_SUCCESS', value: r.value.bytes };
}

function exchanged(r: TsmResult<unknown>): ExchangeAnswer {
  if (!r.ok) return refusal(r, { 'device-error': 'TDX_DEVIF_TDISP_INVALID_MESSAGE' });
  return typeof r.value === 'string' ? success(r.value) : success();
}
