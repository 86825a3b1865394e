/**
 * The TDX Connect host ABI: the SEAMCALLs the untrusted host (KVM and the TDX host driver)
 * makes to the TDX module for device assignment, by their leaf names as Intel's TDX module
 * source and the Linux TDX Connect series name them (intel/tdx-module
 * src/vmm_dispatcher/api_calls/tdxio/tdh_*.c; x86/virt/tdx "Add SEAMCALL wrappers for SPDM
 * management": TDH.SPDM.CREATE/DELETE/CONNECT/DISCONNECT; SYSTEM.md section 3).
 *
 * Each call is (platform, env, args, carrier?) -> AbiOutcome with a TDX status name
 * (status.ts). A refused call changes nothing, unless its text says what the module itself
 * changes on that path (a DEVIF rendered invalid by a refused report). Calls that talk to
 * the device take the host's carrier: the host relays, the TSM seals.
 *
 * Folded exchanges: TDH.IDE.STREAM.IDEKMREQ / IDEKMRSP (IDE_KM KEY_PROG, K_SET_GO per
 * sub-stream) are carried inside TDH.SPDM.CONNECT for the stream TDH.IDE.STREAM.CREATE
 * configured, because the core programs the default stream in the same carried connect;
 * their K_SET_STOP rides TDH.SPDM.DISCONNECT with END_SESSION.
 */
import { decodeFunctionId } from '../../wire/tdisp/header.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import type { AbiOutcome } from '../abi.ts';
import { rootPortKeySetStop } from '../root-port.ts';
import { tsmConnect, tsmDeviceCreate, tsmDeviceDestroy, tsmDisconnect } from '../tsm/device.ts';
import { streamSlots } from '../tsm/ide-km-client.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { removesWithMappings, tdiMappings, tsmTdiRelease } from '../tsm/release.ts';
import { tsmTdiBind, tsmTdiCreate, tsmTdiDestroy } from '../tsm/tdi.ts';
import { tsmVmCreate, tsmVmDestroy, tsmVmFinalize } from '../tsm/vm.ts';
import {
  carryOutstanding,
  devifOf,
  ERROR_REQUESTS,
  type ExchangeAnswer,
  sessionLost,
} from './devif.ts';
import {
  tdhDmarAdd,
  tdhDmarBlock,
  tdhDmarRead,
  tdhDmarRemove,
  tdhMemPageAdd,
  tdhMemPageAug,
  tdhMemPageRemove,
  tdhMemRangeBlock,
  tdhMemTrack,
  tdhMmioBlock,
  tdhMmioMap,
  tdhMmiomtAdd,
  tdhMmiomtRd,
  tdhMmiomtRemove,
  tdhMmiomtSet,
  tdhMmioUnmap,
} from './host-mappings.ts';
import { entry, fail, fromCore, host, success, type TdxAnswer, type TdxCall } from './outcome.ts';
import {
  HOST_TDISP_REQUESTS,
  TD_TDISP_REQUESTS,
  type TdispRequestName,
  type TdxPlatform,
} from './state.ts';

const failed = (r: ExchangeAnswer): TdxAnswer<never> => fail(r.status, r.detail ?? r.status);

// ---------------------------------------------------------------------------------------
// SPDM object and connection

export interface SpdmCreateArgs {
  /** Requester id of the DSM's function 0. */
  device: number;
  /** The IOMMU hosting the device's root port. */
  iommuId: number;
  /** SPDM session index of the device. */
  spdmIdx: number;
}

/** TDH.SPDM.CREATE: the SPDM metadata object of a DSM. */
export function tdhSpdmCreate(p: TdxPlatform, _env: TsmEnv, a: SpdmCreateArgs): AbiOutcome {
  const call = 'TDH.SPDM.CREATE';
  if (p.vendor.spdm.has(a.device)) {
    return host(call, a, fail('TDX_SPDM_ENTRY_ALREADY_PRESENT', `SPDM object ${a.device} exists`));
  }
  const r = tsmDeviceCreate(p, a.device);
  if (!r.ok) return host(call, a, fromCore(r));
  p.vendor.spdm.set(a.device, { device: a.device, iommuId: a.iommuId, spdmIdx: a.spdmIdx });
  return host(call, a, success());
}

export interface DeviceArgs {
  device: number;
}

/**
 * TDH.SPDM.CONNECT: the SPDM session (VCA, certificate, signed measurements, KEY_EXCHANGE,
 * FINISH) and the keys of the stream TDH.IDE.STREAM.CREATE configured, carried by the host.
 */
export async function tdhSpdmConnect(
  p: TdxPlatform,
  env: TsmEnv,
  a: DeviceArgs,
  carrier?: RequesterTransport,
): Promise<AbiOutcome<{ sessionId: number; streamId: number }>> {
  const call = 'TDH.SPDM.CONNECT';
  if (!p.vendor.spdm.has(a.device)) {
    return host(call, a, fail('TDX_SPDM_ENTRY_NOT_PRESENT', `no SPDM object ${a.device}`));
  }
  const s = p.vendor.streams.get(a.device);
  if (!s) {
    return host(call, a, fail('TDX_IDE_STREAM_NOT_CONFIGURED', `device ${a.device}: no stream`));
  }
  if (!carrier) return host(call, a, fail('TDX_OPERAND_INVALID', 'no carrier lent'));
  const r = await tsmConnect(p, env, a.device, carrier, s.streamId);
  if (!r.ok) return host(call, a, fromCore(r, { 'device-error': 'TDX_SPDM_AUTH_FAILED' }));
  s.state = 'active';
  return host(call, a, success({ sessionId: r.value.sessionId, streamId: s.streamId }));
}

/** TDH.SPDM.DISCONNECT: K_SET_STOP of the stream and END_SESSION; no DEVIF may remain. */
export async function tdhSpdmDisconnect(
  p: TdxPlatform,
  env: TsmEnv,
  a: DeviceArgs,
  carrier?: RequesterTransport,
): Promise<AbiOutcome> {
  const call = 'TDH.SPDM.DISCONNECT';
  if (!p.vendor.spdm.has(a.device)) {
    return host(call, a, fail('TDX_SPDM_ENTRY_NOT_PRESENT', `no SPDM object ${a.device}`));
  }
  for (const d of p.vendor.devifs.values()) {
    if (d.device === a.device) {
      return host(
        call,
        a,
        fail('TDX_IDE_STREAM_HAS_DEVICE_INTERFACES', `DEVIF ${d.rid} uses the stream`),
      );
    }
  }
  if (!carrier) return host(call, a, fail('TDX_OPERAND_INVALID', 'no carrier lent'));
  if (sessionLost(p, env, a.device)) {
    return host(call, a, fail('TDX_SPDM_INVALID_STATE', `device ${a.device}: session ended`));
  }
  const r = await tsmDisconnect(p, env, a.device, carrier);
  // The core forgets the session and keys even when the device did not answer.
  const s = p.vendor.streams.get(a.device);
  if (s && p.tsm.devices.get(a.device)?.phase === 'disconnected') s.state = 'configured';
  return host(call, a, fromCore(r, { 'device-error': 'TDX_SDPM_INVALID_MESSAGE' }));
}

/** TDH.SPDM.DELETE: the SPDM object goes; its stream must be deleted first. */
export function tdhSpdmDelete(p: TdxPlatform, env: TsmEnv, a: DeviceArgs): AbiOutcome {
  const call = 'TDH.SPDM.DELETE';
  if (!p.vendor.spdm.has(a.device)) {
    return host(call, a, fail('TDX_SPDM_ENTRY_NOT_PRESENT', `no SPDM object ${a.device}`));
  }
  if (p.vendor.streams.has(a.device)) {
    return host(call, a, fail('TDX_SPDM_HAS_ACTIVE_IDE_STREAMS', `device ${a.device}`));
  }
  const r = tsmDeviceDestroy(p, env, a.device);
  if (!r.ok) return host(call, a, fromCore(r));
  p.vendor.spdm.delete(a.device);
  return host(call, a, success());
}

// ---------------------------------------------------------------------------------------
// IDE stream

export interface StreamArgs {
  device: number;
  streamId: number;
}

/** TDH.IDE.STREAM.CREATE: configures the device's default stream at the root port. */
export function tdhIdeStreamCreate(p: TdxPlatform, _env: TsmEnv, a: StreamArgs): AbiOutcome {
  const call = 'TDH.IDE.STREAM.CREATE';
  if (!p.vendor.spdm.has(a.device)) {
    return host(call, a, fail('TDX_SPDM_ENTRY_NOT_PRESENT', `no SPDM object ${a.device}`));
  }
  if (p.vendor.streams.has(a.device)) {
    return host(call, a, fail('TDX_IDE_STREAM_NOT_FREE', `device ${a.device} has a stream`));
  }
  p.vendor.streams.set(a.device, { device: a.device, streamId: a.streamId, state: 'configured' });
  return host(call, a, success());
}

function streamOf(p: TdxPlatform, a: StreamArgs) {
  const s = p.vendor.streams.get(a.device);
  return s && s.streamId === a.streamId ? s : undefined;
}

/**
 * TDH.IDE.STREAM.BLOCK: the TSM stops trusting the stream: the root port's keys of it are
 * stopped (K_SET_STOP at the root port's end), so no T=1 traffic passes; with it blocked, the private MMIO of its TDIs may be unmapped and their DEVIFs removed while the
 * TDIs are still locked (tdh_mmio_unmap.c, tdh_devif_remove.c).
 */
export function tdhIdeStreamBlock(p: TdxPlatform, _env: TsmEnv, a: StreamArgs): AbiOutcome {
  const call = 'TDH.IDE.STREAM.BLOCK';
  const s = streamOf(p, a);
  if (!s) return host(call, a, fail('TDX_IDE_STREAM_NOT_CONFIGURED', `no stream ${a.streamId}`));
  if (s.state === 'blocked') return host(call, a, fail('TDX_IDE_STREAM_BLOCKED', 'blocked'));
  if (s.state !== 'active') {
    return host(call, a, fail('TDX_IDE_STREAM_INVALID_STATE', `stream is ${s.state}`));
  }
  for (const slot of streamSlots(0)) rootPortKeySetStop(p.hw.rootPort, s.streamId, slot);
  s.state = 'blocked';
  return host(call, a, success());
}

/** TDH.IDE.STREAM.DELETE: no DEVIF may use it, and a keyed stream must be blocked first. */
export function tdhIdeStreamDelete(p: TdxPlatform, _env: TsmEnv, a: StreamArgs): AbiOutcome {
  const call = 'TDH.IDE.STREAM.DELETE';
  const s = streamOf(p, a);
  if (!s) return host(call, a, fail('TDX_IDE_STREAM_NOT_CONFIGURED', `no stream ${a.streamId}`));
  for (const d of p.vendor.devifs.values()) {
    if (d.device === a.device) {
      return host(call, a, fail('TDX_IDE_STREAM_HAS_DEVICE_INTERFACES', `DEVIF ${d.rid}`));
    }
  }
  if (s.state === 'active') return host(call, a, fail('TDX_IDE_STREAM_NOT_BLOCKED', 'active'));
  p.vendor.streams.delete(a.device);
  return host(call, a, success());
}

// ---------------------------------------------------------------------------------------
// The TD

export interface TdArgs {
  /** The TD, as its TDR names it. */
  td: string;
}

/** TDH.MNG.CREATE: a TD (its TDR) the DEVIFs can be bound to. */
export function tdhMngCreate(p: TdxPlatform, _env: TsmEnv, a: TdArgs): AbiOutcome {
  return host('TDH.MNG.CREATE', a, fromCore(tsmVmCreate(p, a.td)));
}

/** TDH.MR.FINALIZE: the TD's measurement is final; private pages now come by AUG + accept. */
export function tdhMrFinalize(p: TdxPlatform, _env: TsmEnv, a: TdArgs): AbiOutcome {
  return host('TDH.MR.FINALIZE', a, fromCore(tsmVmFinalize(p, a.td)));
}

/**
 * TDH.PHYMEM.PAGE.RECLAIM of the TD's TDR page: the TD is gone. The teardown before it
 * (TDH.MNG.VPFLUSHDONE, TDH.MNG.KEY.FREEID) is folded in: teeio's TDs have no vCPUs or key
 * ids. Refused while a DEVIF is bound to the TD (TDX_TD_HAS_ATTACHED_DEVICES) or a page is
 * still mapped in its secure EPT (TDX_TD_ASSOCIATED_PAGES_EXIST).
 */
export function tdhPhymemPageReclaim(p: TdxPlatform, _env: TsmEnv, a: TdArgs): AbiOutcome {
  return host(
    'TDH.PHYMEM.PAGE.RECLAIM',
    a,
    fromCore(tsmVmDestroy(p, a.td), { 'page-mapped': 'TDX_TD_ASSOCIATED_PAGES_EXIST' }),
  );
}

// ---------------------------------------------------------------------------------------
// DEVIF

export interface DevifCreateArgs {
  /** FUNCTION_ID of the TDI (requester id in bits 15:0). */
  functionId: number;
  /** Requester id of the DSM's function 0 (whose stream the TDI uses). */
  device: number;
  td: string;
  /** MMIO_REPORTING_OFFSET for LOCK (default 0). */
  reportingOffset?: bigint;
}

/** TDH.DEVIF.CREATE: the DEVIFCS of a TDI on an active stream, bound to one TD. */
export function tdhDevifCreate(p: TdxPlatform, _env: TsmEnv, a: DevifCreateArgs): AbiOutcome {
  const call = 'TDH.DEVIF.CREATE';
  const interfaceId = decodeFunctionId(a.functionId >>> 0);
  const rid = interfaceId.requesterId;
  const s = p.vendor.streams.get(a.device);
  if (!s) return host(call, a, fail('TDX_IDE_STREAM_NOT_CONFIGURED', `device ${a.device}`));
  if (s.state === 'blocked') return host(call, a, fail('TDX_IDE_STREAM_BLOCKED', 'blocked'));
  if (s.state !== 'active') {
    return host(call, a, fail('TDX_IDE_STREAM_INVALID_STATE', `stream is ${s.state}`));
  }
  if (p.vendor.devifs.has(rid)) {
    return host(call, a, fail('TDX_DEVIFMT_ALREADY_PRESENT', `DEVIF ${rid} exists`));
  }
  // Checked first so that the two core steps below cannot fail half way.
  if (!p.tsm.vms.has(a.td)) return host(call, a, fail('TDX_OPERAND_INVALID', `no TD ${a.td}`));
  const c = tsmTdiCreate(p, a.device, interfaceId);
  if (!c.ok) return host(call, a, fromCore(c));
  const b = tsmTdiBind(p, rid, a.td);
  if (!b.ok) {
    tsmTdiDestroy(p, rid);
    return host(call, a, fromCore(b));
  }
  p.vendor.devifs.set(rid, {
    rid,
    device: a.device,
    streamId: s.streamId,
    td: a.td,
    reportingOffset: a.reportingOffset ?? 0n,
    valid: false,
    tdRequest: { sts: 'idle' },
  });
  return host(call, a, success());
}

export interface DevifRequestArgs {
  functionId: number;
  /** The host's own request (LOCK, GET_STATE or STOP); absent when `td` is set. */
  request?: TdispRequestName;
  /** Generate the request the TD asked for with TDG.DEVIF.REQUEST (td_flag). */
  td?: boolean;
  /** LOCK_INTERFACE_REQUEST's NO_FW_UPDATE; only with LOCK. */
  noFwUpdate?: boolean;
}

/**
 * TDH.DEVIF.REQUEST: generates the DEVIF's next TDISP request, the host's own or the TD's
 * (devif.ts says why the exchange itself happens at TDH.DEVIF.RESPONSE).
 */
export function tdhDevifRequest(
  p: TdxPlatform,
  _env: TsmEnv,
  a: DevifRequestArgs,
): AbiOutcome<{ request: TdispRequestName }> {
  const call = 'TDH.DEVIF.REQUEST';
  // Validate the operands (tdh_devif_request.c is_valid_tdh_devif_req_in).
  if ((a.td === true) === (a.request !== undefined)) {
    return host(call, a, fail('TDX_OPERAND_INVALID', 'either a request code or the TD flag'));
  }
  if (a.noFwUpdate && a.request !== 'LOCK_INTERFACE_REQUEST') {
    return host(call, a, fail('TDX_OPERAND_INVALID', 'NO_FW_UPDATE is a LOCK flag'));
  }
  const d = devifOf(p, a.functionId);
  if (!d.ok) return host(call, a, d.answer);
  const { devif, tdi } = d;
  const code = a.td
    ? devif.tdRequest.sts === 'requested'
      ? devif.tdRequest.code
      : undefined
    : a.request;
  // Check state: ERROR allows only GET_STATE and STOP; one request at a time.
  if (tdi.state === 'ERROR' && !(code && ERROR_REQUESTS.includes(code))) {
    return host(call, a, fail('TDX_DEVIF_TDISP_ERROR_STATE', `TDI ${devif.rid} is in ERROR`));
  }
  if (devif.outstanding) {
    return host(call, a, fail('TDX_DEVIF_TDISP_OUT_REQ', `${devif.outstanding.code} outstanding`));
  }
  if (code === undefined) {
    return host(call, a, fail('TDX_DEVIF_TDISP_INVALID_REQ_STS', 'the TD asked for nothing'));
  }
  if (!a.td && !HOST_TDISP_REQUESTS.includes(code)) {
    return host(call, a, fail('TDX_OPERAND_INVALID', `the host may not send ${code}`));
  }
  if (a.td && !TD_TDISP_REQUESTS.includes(code)) {
    // TDG.DEVIF.REQUEST already refused it; kept so the host path alone keeps the rule.
    return host(call, a, fail('TDX_OPERAND_INVALID', `the TD may not send ${code}`));
  }
  // Update.
  devif.outstanding = { code, td: a.td === true, noFwUpdate: a.noFwUpdate === true };
  if (a.td) devif.tdRequest = { sts: 'generated', code };
  return host(call, a, success({ request: code }));
}

export interface FunctionArgs {
  functionId: number;
}

/**
 * TDH.DEVIF.RESPONSE: the host lends the carrier for the outstanding request; the device's
 * answer updates the records. A TD's request is answered to the TD (TDG.DEVIF.RESPONSE);
 * the host learns only the status.
 */
export async function tdhDevifResponse(
  p: TdxPlatform,
  env: TsmEnv,
  a: FunctionArgs,
  carrier?: RequesterTransport,
): Promise<AbiOutcome<{ request: TdispRequestName; state?: string }>> {
  const call = 'TDH.DEVIF.RESPONSE';
  const d = devifOf(p, a.functionId);
  if (!d.ok) return host(call, a, d.answer);
  const out = d.devif.outstanding;
  if (!out) {
    return host(call, a, fail('TDX_DEVIF_TDISP_INVALID_REQ_STS', 'no outstanding request'));
  }
  if (!carrier) return host(call, a, fail('TDX_OPERAND_INVALID', 'no carrier lent'));
  if (sessionLost(p, env, d.devif.device)) {
    return host(call, a, fail('TDX_SPDM_INVALID_STATE', `device ${d.devif.device}: session ended`));
  }
  const r: ExchangeAnswer = await carryOutstanding(p, env, d.devif, out, carrier);
  if (out.td) {
    d.devif.tdRequest = { sts: 'responded', code: out.code, status: r.status };
    if (r.value !== undefined) d.devif.tdRequest.value = r.value;
    if (r.detail !== undefined) d.devif.tdRequest.detail = r.detail;
    return host(call, a, r.status === 'TDX_SUCCESS' ? success({ request: out.code }) : failed(r));
  }
  if (r.status !== 'TDX_SUCCESS') return host(call, a, failed(r));
  const value: { request: TdispRequestName; state?: string } = { request: out.code };
  if (typeof r.value === 'string') value.state = r.value;
  return host(call, a, success(value));
}

/**
 * TDH.DEVIF.REMOVE: the DEVIF goes, and with it the TDI's binding (tdh_devif_remove.c): the
 * TDI must be CONFIG_UNLOCKED or its stream blocked, its trusted DMA context removed
 * (TDH.DMAR.BLOCK, REMOVE) and no private MMIO page mapped (TDH.MMIO.BLOCK, TDH.MEM.TRACK,
 * TDH.MMIO.UNMAP): the host does each step, this call only checks nothing is left. The
 * core's release then wipes the nonce and report; it also refuses a TDI still LOCKED or RUN
 * at the device, so with only the stream blocked the host must STOP the TDI first here.
 */
export function tdhDevifRemove(p: TdxPlatform, _env: TsmEnv, a: FunctionArgs): AbiOutcome {
  const call = 'TDH.DEVIF.REMOVE';
  const d = devifOf(p, a.functionId);
  if (!d.ok) return host(call, a, d.answer);
  const { devif, tdi } = d;
  const streamBlocked = p.vendor.streams.get(devif.device)?.state === 'blocked';
  if (tdi.state !== 'CONFIG_UNLOCKED' && !streamBlocked) {
    return host(
      call,
      a,
      fail('TDX_DEVIF_INVALID_STATE', `TDI ${devif.rid} is ${tdi.state}, stream not blocked`),
    );
  }
  const m = removesWithMappings(p) ? { dma: false, mmio: 0 } : tdiMappings(p, tdi);
  if (m.dma) return host(call, a, fail('TDX_DEVIF_HAS_MAPPED_DMA', `TDI ${devif.rid}`));
  if (m.mmio > 0) {
    return host(call, a, fail('TDX_DEVIF_HAS_MAPPED_MMIO', `TDI ${devif.rid}: ${m.mmio} pages`));
  }
  const r = tsmTdiRelease(p, devif.rid);
  if (!r.ok) return host(call, a, fromCore(r, { 'tdi-state': 'TDX_DEVIF_INVALID_STATE' }));
  tsmTdiDestroy(p, devif.rid);
  p.vendor.devifs.delete(devif.rid);
  return host(call, a, success());
}

// ---------------------------------------------------------------------------------------
// The table

/** Every host call by its leaf name, for scenarios that call by name. */
export const TDX_HOST_ABI: Readonly<Record<string, TdxCall>> = {
  'TDH.SPDM.CREATE': entry(tdhSpdmCreate),
  'TDH.SPDM.CONNECT': entry(tdhSpdmConnect),
  'TDH.SPDM.DISCONNECT': entry(tdhSpdmDisconnect),
  'TDH.SPDM.DELETE': entry(tdhSpdmDelete),
  'TDH.IDE.STREAM.CREATE': entry(tdhIdeStreamCreate),
  'TDH.IDE.STREAM.BLOCK': entry(tdhIdeStreamBlock),
  'TDH.IDE.STREAM.DELETE': entry(tdhIdeStreamDelete),
  'TDH.MNG.CREATE': entry(tdhMngCreate),
  'TDH.MR.FINALIZE': entry(tdhMrFinalize),
  'TDH.PHYMEM.PAGE.RECLAIM': entry(tdhPhymemPageReclaim),
  'TDH.DEVIF.CREATE': entry(tdhDevifCreate),
  'TDH.DEVIF.REQUEST': entry(tdhDevifRequest),
  'TDH.DEVIF.RESPONSE': entry(tdhDevifResponse),
  'TDH.DEVIF.REMOVE': entry(tdhDevifRemove),
  'TDH.MMIOMT.ADD': entry(tdhMmiomtAdd),
  'TDH.MMIOMT.SET': entry(tdhMmiomtSet),
  'TDH.MMIOMT.RD': entry(tdhMmiomtRd),
  'TDH.MMIOMT.REMOVE': entry(tdhMmiomtRemove),
  'TDH.MEM.PAGE.ADD': entry(tdhMemPageAdd),
  'TDH.MEM.PAGE.AUG': entry(tdhMemPageAug),
  'TDH.MEM.RANGE.BLOCK': entry(tdhMemRangeBlock),
  'TDH.MEM.TRACK': entry(tdhMemTrack),
  'TDH.MEM.PAGE.REMOVE': entry(tdhMemPageRemove),
  'TDH.MMIO.MAP': entry(tdhMmioMap),
  'TDH.MMIO.BLOCK': entry(tdhMmioBlock),
  'TDH.MMIO.UNMAP': entry(tdhMmioUnmap),
  'TDH.DMAR.ADD': entry(tdhDmarAdd),
  'TDH.DMAR.BLOCK': entry(tdhDmarBlock),
  'TDH.DMAR.READ': entry(tdhDmarRead),
  'TDH.DMAR.REMOVE': entry(tdhDmarRemove),
};
