/**
 * The TDX Connect flavour's own records (Intel TDX module TDX-IO: the SPDM metadata object
 * of TDH.SPDM.CREATE, the IDE stream of TDH.IDE.STREAM.CREATE, the DEVIFCS of
 * TDH.DEVIF.CREATE with its TDISP request tracking, and the MMIO metadata table (MMIOMT)
 * entries of TDH.MMIOMT.ADD/SET), as plain data beside the core's TsmState. What every
 * flavour shares (the device's session, the TDI's binding, TDISP state, report, mappings)
 * stays in the core's records; these hold only what TDX adds.
 *
 * Field names follow the module's structures (devifcs_t: tdisp_sts lives in the core,
 * out_tdisp_req, td_tdisp_req_sts, valid, mmio_reporting_offset; mmiomt_data_t:
 * function_id, mapped).
 */
import type { Platform } from '../platform.ts';
import type { VmId } from '../tsm/state.ts';

/** The TDISP requests a DEVIF carries, by their PCIe names (TDISP_MESSAGE_NAMES). */
export type TdispRequestName =
  | 'LOCK_INTERFACE_REQUEST'
  | 'GET_DEVICE_INTERFACE_STATE'
  | 'STOP_INTERFACE_REQUEST'
  | 'GET_DEVICE_INTERFACE_REPORT'
  | 'START_INTERFACE_REQUEST';

/**
 * Who may ask for which request (tdisp.c is_valid_tdisp_req_msg_type): the host only
 * LOCK, GET_STATE and STOP (it prepares and tears down, never vouches); the TD only the
 * report, the state and START (it attests and accepts, never locks).
 */
export const HOST_TDISP_REQUESTS: readonly TdispRequestName[] = [
  'LOCK_INTERFACE_REQUEST',
  'GET_DEVICE_INTERFACE_STATE',
  'STOP_INTERFACE_REQUEST',
];
export const TD_TDISP_REQUESTS: readonly TdispRequestName[] = [
  'GET_DEVICE_INTERFACE_REPORT',
  'GET_DEVICE_INTERFACE_STATE',
  'START_INTERFACE_REQUEST',
];

/** The SPDM metadata object of a DSM (TDH.SPDM.CREATE): which IOMMU hosts it, its index. */
export interface TdxSpdm {
  /** Requester id of function 0. */
  device: number;
  iommuId: number;
  spdmIdx: number;
}

/**
 * The device's IDE stream (TDH.IDE.STREAM.CREATE): 'configured' at both ends, 'active'
 * once its keys are programmed (KEY_PROG / K_SET_GO, carried by TDH.SPDM.CONNECT here),
 * 'blocked' after TDH.IDE.STREAM.BLOCK (no T=1 traffic; private MMIO may then be unmapped).
 */
export interface TdxStream {
  device: number;
  streamId: number;
  state: 'configured' | 'active' | 'blocked';
}

/** The TD's TDISP request through the DEVIF (devifcs td_tdisp_req_sts and its answer). */
export type TdxTdRequest =
  | { sts: 'idle' }
  /** TDG.DEVIF.REQUEST recorded it; the host must carry it (TDH.DEVIF.REQUEST td=true). */
  | { sts: 'requested'; code: TdispRequestName }
  /** TDH.DEVIF.REQUEST generated it; TDH.DEVIF.RESPONSE carries the exchange. */
  | { sts: 'generated'; code: TdispRequestName }
  /** The answer, waiting for TDG.DEVIF.RESPONSE. */
  | {
      sts: 'responded';
      code: TdispRequestName;
      status: string;
      /** Why, when the exchange failed. */
      detail?: string;
      /** GET_DEVICE_INTERFACE_REPORT: the report bytes; GET_DEVICE_INTERFACE_STATE: the state. */
      value?: Uint8Array | string;
    };

/** The request TDH.DEVIF.REQUEST generated and TDH.DEVIF.RESPONSE has not yet carried. */
export interface TdxOutstanding {
  code: TdispRequestName;
  /** Generated for the TD (td_flag). */
  td: boolean;
  /** LOCK's NO_FW_UPDATE, the only LOCK flag the host chooses. */
  noFwUpdate: boolean;
}

/** A device interface (DEVIFCS) of TDH.DEVIF.CREATE: one TDI bound to one TD. */
export interface TdxDevif {
  rid: number;
  device: number;
  streamId: number;
  td: VmId;
  /** MMIO_REPORTING_OFFSET LOCK will ask for. */
  reportingOffset: bigint;
  /**
   * DEVIFCS valid: set by the TD's TDG.DEVIF.VALIDATE (the device is the one the TD expects),
   * which every TD request and accept needs; cleared when the report shows a configuration
   * TDX Connect does not support, when the TDI is found in ERROR, and at STOP (the TD must
   * validate again before it uses the DEVIF again).
   */
  valid: boolean;
  /**
   * LOCK_INTERFACE_FLAGS of the LOCK in force (undefined before LOCK and after STOP): the
   * report is checked against what the module asked for.
   */
  lockFlags?: number;
  outstanding?: TdxOutstanding;
  tdRequest: TdxTdRequest;
}

/** An MMIO metadata table entry: one 4 KiB host MMIO page and the DEVIF owning it. */
export interface TdxMmiomtEntry {
  /** Host page frame number (bus address / 4 KiB). */
  pfn: bigint;
  /** Requester id of the DEVIF, once TDH.MMIOMT.SET gave it one. */
  devif?: number;
}

export interface TdxState {
  spdm: Map<number, TdxSpdm>;
  /** Each device's default stream, keyed by the device's requester id. */
  streams: Map<number, TdxStream>;
  devifs: Map<number, TdxDevif>;
  mmiomt: Map<bigint, TdxMmiomtEntry>;
}

export function createTdxState(): TdxState {
  return { spdm: new Map(), streams: new Map(), devifs: new Map(), mmiomt: new Map() };
}

/** What the flavour's calls act on: the hardware, the core's records and these. */
export type TdxPlatform = Platform<TdxState>;
