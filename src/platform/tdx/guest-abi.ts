/**
 * The TDX Connect guest ABI: the TDCALLs a TD makes to the TDX module about a device
 * interface bound to it, by their leaf names in Intel's TDX module source
 * (intel/tdx-module include/tdxio/tdxio_td_api_handlers.h: tdg_devif_rd, tdg_devif_validate,
 * tdg_devif_request, tdg_devif_response, tdg_tdi_mmio_accept, tdg_dmar_accept). SYSTEM.md's
 * shorter names (TDG.TDI.RD, TDG.TDI.START) are kept in the table as aliases of the same
 * calls. The TD first validates the DEVIF (the device is the one it expects); every request
 * and accept needs that, only reading does not.
 *
 * The TD never reaches the device itself: TDG.DEVIF.REQUEST records what it asks for, the
 * untrusted host carries it (TDH.DEVIF.REQUEST with the TD flag, TDH.DEVIF.RESPONSE), and
 * TDG.DEVIF.RESPONSE hands the TD the answer. The host can refuse to carry (the TD learns
 * nothing new) but cannot forge: the session's MACs and the report checks are the TSM's.
 *
 * Every call names the calling TD (`td`): a real TDCALL knows it from the vCPU it runs on.
 */
import type { AbiOutcome } from '../abi.ts';
import { septEntry } from '../sept.ts';
import { type GuestDeviceEvidence, tsmGuestEvidence } from '../tsm/guest-evidence.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMemAccept } from '../tsm/private-memory.ts';
import { rangeIdPage, tsmMmioAccept } from '../tsm/private-mmio.ts';
import type { ReportedRange, TdiStateName } from '../tsm/state.ts';
import { tsmDmaAccept } from '../tsm/trusted-dma.ts';
import { tdDevifOf } from './devif.ts';
import { entry, fail, fromCore, guest, success, type TdxAnswer, type TdxCall } from './outcome.ts';
import {
  TD_TDISP_REQUESTS,
  type TdispRequestName,
  type TdxDevif,
  type TdxPlatform,
} from './state.ts';
import type { TdxStatus } from './status.ts';

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
  /** The device's chain and measurements as the module's session read them, `nonce` echoed. */
  evidence?: GuestDeviceEvidence;
}

export interface DevifRdArgs extends TdFunctionArgs {
  /** The TD's nonce for this read (hex), bound to the evidence it returns. */
  nonce?: string;
}

/** TDG.DEVIF.RD: the state and report of a DEVIF bound to the calling TD; allowed in ERROR. */
export function tdgDevifRd(p: TdxPlatform, _env: TsmEnv, a: DevifRdArgs): AbiOutcome<DevifInfo> {
  const call = 'TDG.DEVIF.RD';
  const d = tdDevifOf(p, a.td, a.functionId);
  if (!d.ok) return guest(call, a, d.answer);
  const info: DevifInfo = {
    state: d.tdi.state,
    valid: d.devif.valid,
    ranges: (d.tdi.report?.ranges ?? []).map((r) => ({ ...r })),
  };
  if (d.tdi.report) info.report = d.tdi.report.bytes.slice();
  const evidence = tsmGuestEvidence(p.tsm, d.devif.rid, a.nonce);
  if (evidence) info.evidence = evidence;
  return guest(call, a, success(info));
}

/** Why the TD may not use the DEVIF yet (it has not validated it), or undefined. */
function validDevif(d: TdxDevif): TdxAnswer<never> | undefined {
  return d.valid
    ? undefined
    : fail('TDX_DEVIF_INVALID_STATE', `DEVIF ${d.rid} is not valid: TDG.DEVIF.VALIDATE`);
}

export interface ValidateArgs extends TdFunctionArgs {
  /**
   * The device identity the TD expects, as 96 hex digits: SHA-384 of the certificate chain
   * the TSM's SPDM session authenticated (teeio's stand-in for the module's DEV_INFO hash,
   * whose exact input public sources do not give).
   */
  devInfoHash: string;
}

/**
 * TDG.DEVIF.VALIDATE: the TD checks that the DEVIF's device is the one it expects and makes
 * the DEVIF valid (tdg_devif_validate.c): a different device is TDX_DEVIF_PKH_MISMATCH, a
 * second validation the warning TDX_DEVIF_ALREADY_VALID.
 */
export function tdgDevifValidate(p: TdxPlatform, _env: TsmEnv, a: ValidateArgs): AbiOutcome {
  const call = 'TDG.DEVIF.VALIDATE';
  const d = tdDevifOf(p, a.td, a.functionId);
  if (!d.ok) return guest(call, a, d.answer);
  const digest = p.tsm.devices.get(d.devif.device)?.link?.chainDigest;
  const hex = digest ? Buffer.from(digest).toString('hex') : undefined;
  if (hex === undefined || hex !== a.devInfoHash.toLowerCase()) {
    return guest(call, a, fail('TDX_DEVIF_PKH_MISMATCH', `DEVIF ${d.devif.rid}: another device`));
  }
  if (d.devif.valid) return guest(call, a, fail('TDX_DEVIF_ALREADY_VALID', 'already valid'));
  d.devif.valid = true;
  return guest(call, a, success());
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
  // Check state: a validated DEVIF (tdg_devifmt_get_devifcs checks it first), then ERROR.
  const v = validDevif(d.devif);
  if (v) return guest(call, a, v);
  if (d.tdi.state === 'ERROR' && a.request !== 'GET_DEVICE_INTERFACE_STATE') {
    return guest(call, a, fail('TDX_DEVIF_TDISP_ERROR_STATE', `TDI ${d.devif.rid} is in ERROR`));
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

export interface MmioAcceptArgs extends TdFunctionArgs {
  /** The guest frame the host said it mapped. */
  gfn: bigint;
  /** The report's MMIO range the TD expects there (RANGE_ID). */
  rangeId: number;
  /**
   * The page of that range, counted from the first page the report gives the RANGE_ID (one
   * ID may have several ranges: tsm/private-mmio.ts rangeIdPage).
   */
  pageOffset: number;
}

/**
 * TDG.MMIO.ACCEPT: the TD accepts one page of one report range at `gfn` (tdg_tdi_mmio_accept
 * takes the GPA and the page's offset in the range): the secure EPT entry must be the DEVIF's
 * and hold exactly that page of the range, so the host cannot hand the TD another page of
 * the device, or the right page at the wrong address.
 */
export function tdgMmioAccept(p: TdxPlatform, _env: TsmEnv, a: MmioAcceptArgs): AbiOutcome {
  const call = 'TDG.MMIO.ACCEPT';
  const d = tdDevifOf(p, a.td, a.functionId);
  if (!d.ok) return guest(call, a, d.answer);
  const v = validDevif(d.devif);
  if (v) return guest(call, a, v);
  const e = septEntry(p.hw.septs.get(a.td), a.gfn);
  if (e?.target.kind !== 'mmio') {
    return guest(call, a, fail('TDX_EPT_WALK_FAILED', `gfn 0x${a.gfn.toString(16)}: no MMIO`));
  }
  if (e.target.rid !== d.devif.rid) {
    return guest(
      call,
      a,
      fail('TDX_MMIO_DEVIF_OWNER_MISMATCH', `gfn 0x${a.gfn.toString(16)} maps TDI ${e.target.rid}`),
    );
  }
  const want = rangeIdPage(d.tdi, a.rangeId, a.pageOffset);
  if (want === undefined) {
    return guest(
      call,
      a,
      fail('TDX_MMIO_PAGE_NOT_IN_ASSOC_RANGE', `range ${a.rangeId} page ${a.pageOffset}`),
    );
  }
  if (e.target.hpfn !== want) {
    return guest(
      call,
      a,
      fail(
        'TDX_MMIO_INVALID_HPA_OFFSET',
        `gfn 0x${a.gfn.toString(16)} maps page 0x${e.target.hpfn.toString(16)}, not 0x${want.toString(16)}`,
      ),
    );
  }
  return guest(
    call,
    a,
    fromCore(
      tsmMmioAccept(p, a.td, a.gfn),
      {},
      { TDX_PAGE_ALREADY_ACCEPTED: 'TDX_MMIO_PAGE_ALREADY_ACCEPTED' },
    ),
  );
}

/** TDG.DMAR.ACCEPT: the TD accepts its DEVIF's trusted DMA context (T=1 DMA may flow). */
export function tdgDmarAccept(p: TdxPlatform, _env: TsmEnv, a: TdFunctionArgs): AbiOutcome {
  const call = 'TDG.DMAR.ACCEPT';
  const d = tdDevifOf(p, a.td, a.functionId);
  if (!d.ok) return guest(call, a, d.answer);
  const v = validDevif(d.devif);
  if (v) return guest(call, a, v);
  return guest(call, a, fromCore(tsmDmaAccept(p, a.td, d.devif.rid)));
}

export interface MemAcceptArgs {
  td: string;
  gfn: bigint;
}

/** TDG.MEM.PAGE.ACCEPT: the TD accepts a private page the host added with TDH.MEM.PAGE.AUG. */
export function tdgMemPageAccept(p: TdxPlatform, _env: TsmEnv, a: MemAcceptArgs): AbiOutcome {
  return guest('TDG.MEM.PAGE.ACCEPT', a, fromCore(tsmMemAccept(p, a.td, a.gfn)));
}

/** Every guest call by its leaf name (with SYSTEM.md's aliases). */
export const TDX_GUEST_ABI: Readonly<Record<string, TdxCall>> = {
  'TDG.DEVIF.RD': entry(tdgDevifRd),
  'TDG.DEVIF.VALIDATE': entry(tdgDevifValidate),
  'TDG.TDI.RD': entry(tdgDevifRd),
  'TDG.DEVIF.REQUEST': entry(tdgDevifRequest),
  'TDG.DEVIF.RESPONSE': entry(tdgDevifResponse),
  'TDG.TDI.START': entry(tdgTdiStart),
  'TDG.MMIO.ACCEPT': entry(tdgMmioAccept),
  'TDG.DMAR.ACCEPT': entry(tdgDmarAccept),
  'TDG.MEM.PAGE.ACCEPT': entry(tdgMemPageAccept),
};
