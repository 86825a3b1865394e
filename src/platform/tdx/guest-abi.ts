/**
 * The TDX Connect guest ABI: the TDCALLs a TD makes to the TDX module about a device
 * interface bound to it, by their leaf names in Intel's TDX module source
 * (intel/tdx-module include/tdxio/tdxio_td_api_handlers.h: tdg_devif_rd, tdg_devif_request,
 * tdg_devif_response, tdg_tdi_mmio_accept, tdg_dmar_accept). SYSTEM.md's shorter names
 * (TDG.TDI.RD, TDG.TDI.START) are kept in the table as aliases of the same calls.
 *
 * The TD never reaches the device itself: TDG.DEVIF.REQUEST records what it asks for, the
 * untrusted host carries it (TDH.DEVIF.REQUEST with the TD flag, TDH.DEVIF.RESPONSE), and
 * TDG.DEVIF.RESPONSE hands the TD the answer. The host can refuse to carry (the TD learns
 * nothing new) but cannot forge: the session's MACs and the report checks are the TSM's.
 *
 * Every call names the calling TD (`td`): a real TDCALL knows it from the vCPU it runs on.
 */
import type { AbiOutcome } from '../abi.ts';
import type { TsmEnv } from '../tsm/link.ts';
import type { ReportedRange, TdiStateName } from '../tsm/state.ts';
import { tdDevifOf } from './devif.ts';
import { entry, fail, outcome, success, type TdxAnswer, type TdxCall } from './outcome.ts';
import { TD_TDISP_REQUESTS, type TdispRequestName, type TdxPlatform } from './state.ts';
import type { TdxStatus } from './status.ts';

const guest = <T>(call: string, args: object, a: TdxAnswer<T>): AbiOutcome<T> =>
  outcome('guest', call, args, a);

export interface TdFunctionArgs {
  td: string;
  functionId: number;
}

/** What TDG.DEVIF.RD reads: the TDISP state as the TSM last learnt it, and the report. */
export interface DevifInfo {
  state: TdiStateName;
  /** The DEVIF can still be used (not refused, not stopped, not in ERROR). */
  valid: boolean;
  /** The report the TSM accepted, and its ranges in host physical addresses. */
  report?: Uint8Array;
  ranges: ReportedRange[];
}

/** TDG.DEVIF.RD: the state and report of a DEVIF bound to the calling TD; allowed in ERROR. */
export function tdgDevifRd(p: TdxPlatform, _env: TsmEnv, a: TdFunctionArgs): AbiOutcome<DevifInfo> {
  const call = 'TDG.DEVIF.RD';
  const d = tdDevifOf(p, a.td, a.functionId);
  if (!d.ok) return guest(call, a, d.answer);
  const info: DevifInfo = {
    state: d.tdi.state,
    valid: d.devif.valid,
    ranges: (d.tdi.report?.ranges ?? []).map((r) => ({ ...r })),
  };
  if (d.tdi.report) info.report = d.tdi.report.bytes.slice();
  return guest(call, a, success(info));
}

export interface TdRequestArgs extends TdFunctionArgs {
  request: TdispRequestName;
}

/**
 * TDG.DEVIF.REQUEST: the TD asks for GET_DEVICE_INTERFACE_REPORT, GET_DEVICE_INTERFACE_STATE
 * or START_INTERFACE_REQUEST (never LOCK or STOP: those are the host's); in ERROR only the
 * state (tdg_devif_request.c).
 */
export function tdgDevifRequest(p: TdxPlatform, _env: TsmEnv, a: TdRequestArgs): AbiOutcome {
  return tdRequest(p, 'TDG.DEVIF.REQUEST', a);
}

/** TDG.TDI.START: TDG.DEVIF.REQUEST for START_INTERFACE_REQUEST, SYSTEM.md's guest call. */
export function tdgTdiStart(p: TdxPlatform, _env: TsmEnv, a: TdFunctionArgs): AbiOutcome {
  return tdRequest(p, 'TDG.TDI.START', { ...a, request: 'START_INTERFACE_REQUEST' });
}

function tdRequest(p: TdxPlatform, call: string, a: TdRequestArgs): AbiOutcome {
  // Validate.
  if (!TD_TDISP_REQUESTS.includes(a.request)) {
    return guest(call, a, fail('TDX_OPERAND_INVALID', `the TD may not send ${a.request}`));
  }
  const d = tdDevifOf(p, a.td, a.functionId);
  if (!d.ok) return guest(call, a, d.answer);
  // Check state.
  if (d.tdi.state === 'ERROR' && a.request !== 'GET_DEVICE_INTERFACE_STATE') {
    return guest(call, a, fail('TDX_DEVIF_TDISP_ERROR_STATE', `TDI ${d.devif.rid} is in ERROR`));
  }
  if (!d.devif.valid && a.request !== 'GET_DEVICE_INTERFACE_STATE') {
    return guest(call, a, fail('TDX_DEVIF_INVALID_STATE', `DEVIF ${d.devif.rid} is not valid`));
  }
  if (d.devif.tdRequest.sts !== 'idle') {
    return guest(
      call,
      a,
      fail('TDX_DEVIF_TDISP_INVALID_REQ_STS', `a ${d.devif.tdRequest.code} is pending`),
    );
  }
  // Update.
  d.devif.tdRequest = { sts: 'requested', code: a.request };
  return guest(call, a, success());
}

/** What the TD reads back for its request. */
export interface TdResponse {
  request: TdispRequestName;
  /** GET_DEVICE_INTERFACE_REPORT: the accepted report; GET_DEVICE_INTERFACE_STATE: the state. */
  value?: Uint8Array | string;
}

/**
 * TDG.DEVIF.RESPONSE: the answer to the TD's request, with the exchange's status (a refused
 * report reads TDX_DEVIF_INVALID_TDI_CONFIGURATION); the DEVIF is then free for the next.
 */
export function tdgDevifResponse(
  p: TdxPlatform,
  _env: TsmEnv,
  a: TdFunctionArgs,
): AbiOutcome<TdResponse> {
  const call = 'TDG.DEVIF.RESPONSE';
  const d = tdDevifOf(p, a.td, a.functionId);
  if (!d.ok) return guest(call, a, d.answer);
  const r = d.devif.tdRequest;
  if (r.sts !== 'responded') {
    return guest(call, a, fail('TDX_DEVIF_TDISP_INVALID_REQ_STS', `request is ${r.sts}`));
  }
  d.devif.tdRequest = { sts: 'idle' };
  const value: TdResponse = { request: r.code };
  if (r.value !== undefined) value.value = r.value;
  const answer: TdxAnswer<TdResponse> = { status: r.status as TdxStatus, value };
  if (r.detail !== undefined) answer.detail = r.detail;
  return guest(call, a, answer);
}

/** Every guest call by its leaf name (with SYSTEM.md's aliases). */
export const TDX_GUEST_ABI: Readonly<Record<string, TdxCall>> = {
  'TDG.DEVIF.RD': entry(tdgDevifRd),
  'TDG.TDI.RD': entry(tdgDevifRd),
  'TDG.DEVIF.REQUEST': entry(tdgDevifRequest),
  'TDG.DEVIF.RESPONSE': entry(tdgDevifResponse),
  'TDG.TDI.START': entry(tdgTdiStart),
};
