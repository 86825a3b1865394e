/**
 * The SEV TSM host driver's own records (what Linux's ccp sev-dev-tsm.c keeps in its
 * tsm_dev_tio / tsm_tdi_tio and KVM's svm/sev.c in kvm_sev_info), plain data in
 * HostState.tsmDriver.sev. Only what the firmware confirmed is written here.
 *
 * KVM names a VM its own way (kvm/vm.ts: 'kvm-vm-<fd>'); the PSP knows it by the guest
 * context page the driver donated (SNP_GCTX_CREATE), and the platform's VM id is
 * vmOfGctx(gctx). `guests` maps the one to the other.
 */

import type { Rid, VmId } from '../../../platform/ids.ts';
import { vmOfGctx } from '../../../platform/sev/host-abi.ts';
import type { HostState } from '../../state.ts';

export interface SevGuestRecord {
  /** KVM's name of the VM. */
  vm: VmId;
  /** System physical address of the guest context page (a number, as the PSP takes it). */
  gctx: number;
  /** The ASID SNP_ACTIVATE gave the guest context. */
  asid: number;
  /** SNP_LAUNCH_FINISH done. */
  launched: boolean;
  /** Private RAM pages KVM assigned with RMPUPDATE: guest frame -> host frame. */
  ram: Map<bigint, bigint>;
  /**
   * Private BAR pages assigned with RMPUPDATE: guest frame -> the page and its TDI.
   * `released`: TIO_TDI_UNBIND already gave the page back to the host (the firmware does
   * that for every BAR page of the TDI); KVM has yet to drop it from its mirror.
   */
  mmio: Map<bigint, { pfn: bigint; rid: Rid; released?: true }>;
}

export interface SevDevRecord {
  /** Routing id of function 0 (TIO_DEV_CREATE's device_id). */
  dev: Rid;
  /** The IDE stream id the driver gave TC0 (TIO_DEV_CONNECT's ide_stream_id[0]). */
  streamId: number;
}

export interface SevTdiRecord {
  tdi: Rid;
  dev: Rid;
  /** KVM's VM and its guest context. */
  vm: VmId;
  gctx: number;
  /** The guest's BDF for the TDI (TIO_TDI_BIND's guest_device_id). */
  guestDeviceId: number;
  /** The interface report TIO_TDI_BIND returned (tio_save_output ... SPDM_DOBJ_ID_REPORT). */
  report: Uint8Array;
  /** 'stopped' once TIO_TDI_UNBIND went through; TIO_TDI_RECLAIM is left. */
  phase: 'bound' | 'stopped';
  /** What TIO_TDI_STATUS last answered (TIO_TDISP_STATE name). */
  tdispState?: string;
  /** The host had the TDI's DMA set up for the guest to take over (enableTrustedDma). */
  trustedDma: boolean;
}

export interface SevDriverRecords {
  guests: Map<VmId, SevGuestRecord>;
  devs: Map<Rid, SevDevRecord>;
  tdis: Map<Rid, SevTdiRecord>;
}

const empty = (): SevDriverRecords => ({ guests: new Map(), devs: new Map(), tdis: new Map() });

/** The records to read; a fresh empty set, not attached, when nothing was written yet. */
export function sevRecords(h: HostState): Readonly<SevDriverRecords> {
  return (h.tsmDriver.sev as SevDriverRecords | undefined) ?? empty();
}

/** The records to write, created on the first write (only after the firmware agreed). */
export function sevRecordsToWrite(h: HostState): SevDriverRecords {
  h.tsmDriver.sev ??= empty();
  return h.tsmDriver.sev as SevDriverRecords;
}

/** The device record of the DSM managing `rid` (the same bus). */
export function devOf(h: HostState, rid: Rid): SevDevRecord | undefined {
  for (const d of sevRecords(h).devs.values()) if (d.dev >>> 8 === rid >>> 8) return d;
  return undefined;
}

/**
 * KVM's VM `vm` as the PSP knows it: its guest context, ASID and the platform's VM id
 * (what the guest's own accesses and the guest ABI are keyed by). Undefined for a VM that
 * is not an SNP guest of this driver.
 */
export function sevGuestOf(
  h: HostState,
  vm: VmId,
): { gctx: number; asid: number; firmwareVm: VmId } | undefined {
  const g = sevRecords(h).guests.get(vm);
  return g && { gctx: g.gctx, asid: g.asid, firmwareVm: vmOfGctx(g.gctx) };
}
