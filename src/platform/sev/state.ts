/**
 * The SEV-TIO flavour's own records (AMD SEV-TIO Firmware Interface Specification #58271;
 * Linux drivers/crypto/ccp/sev-dev-tio.c and sev-dev-tsm.c), as plain data beside the TSM
 * core's records:
 * - guest contexts (SNP_GCTX_CREATE's page, named by its system physical address, and the
 *   ASID SNP_ACTIVATE gave it): the "guest context" TDI_BIND needs, with the guest's VMPCK
 *   and message sequence number (guest-seal.ts);
 * - device contexts (TIO_DEV_CREATE: device id, root port, segment; TIO_DEV_CONNECT's
 *   traffic-class mask, IDE stream ids and certificate slot);
 * - TDI contexts (TIO_TDI_CREATE; TDI_BIND's guest device id, the guest's virtual BDF by
 *   which the guest names the TDI in its TIO_MSG_* requests; the sDTE the guest wrote;
 *   the MMIO subranges it validated);
 * - the ASID fence: which guests' ASIDs the IOMMU fenced and why.
 * Everything survives structuredClone and hashes with world/hash.ts canonicalHash.
 */
import type { Platform } from '../platform.ts';
import type { VmId } from '../tsm/state.ts';

/** A guest context page (SNP_GCTX_CREATE), by its system physical address. */
export type GctxPaddr = number;

export interface SevGuestContext {
  gctx: GctxPaddr;
  /** The TSM core's VM this context is. */
  vm: VmId;
  /** From SNP_ACTIVATE; a context without one cannot run, nor have a TDI bound. */
  asid?: number;
  /**
   * The guest's VMPCK (hex), made at SNP_GCTX_CREATE and given to the guest only in its
   * secrets page (SNP_SECRETS_PAGE, guest-abi.ts): the key its messages are sealed with.
   */
  vmpck: string;
  /** The sequence number of the last guest message or reply sealed under it (0: none). */
  msgSeq: number;
}

export interface SevDevContext {
  /** PCIe routing id of function 0 (the DSM). */
  deviceId: number;
  rootPortId: number;
  segmentId: number;
  /** From TIO_DEV_CONNECT. */
  tcMask?: number;
  ideStreamIds?: number[];
  certSlot?: number;
}

/** The guest-writable sDTE fields (TIO_MSG_SDTE_WRITE_REQ, spec table 68). */
export interface SdteFields {
  /** V: the entry is valid (trusted DMA on). */
  v: boolean;
  ir: boolean;
  iw: boolean;
  vmpl: number;
  vtomEn: boolean;
  /** Virtual top of memory, in 2 MiB units. */
  vtom: number;
}

/** One MMIO subrange the guest validated (TIO_MSG_MMIO_VALIDATE_REQ). */
export interface ValidatedSubrange {
  rangeId: number;
  /** Guest physical address of the first page. */
  gpa: bigint;
  pages: number;
  /** Offset of the subrange in the report's range, in bytes. */
  rangeOffset: number;
}

export interface SevTdiContext {
  /** Host routing id of the TDI. */
  rid: number;
  /** Routing id of the device's function 0. */
  device: number;
  /** TDI_BIND: the guest context and the guest's BDF for the TDI. */
  gctx?: GctxPaddr;
  guestDeviceId?: number;
  /** TDI_BIND's TDISP LOCK_INTERFACE flags (TIO_TDI_BIND_FLAG_*). */
  lockFlags?: number;
  /** What the guest last wrote with TIO_MSG_SDTE_WRITE_REQ. */
  sdte?: SdteFields;
  /** Subranges the guest validated, keyed `${rangeId}:${gpa}`. */
  validated: Map<string, ValidatedSubrange>;
}

/** Why an ASID is fenced. */
export interface SevFence {
  asid: number;
  /** What the host did, e.g. 'RMPUPDATE of MMIO page 0x... under a running guest'. */
  cause: string;
}

export interface SevState {
  guests: Map<GctxPaddr, SevGuestContext>;
  devs: Map<number, SevDevContext>;
  tdis: Map<number, SevTdiContext>;
  /** Fenced ASIDs: MMIO writes from the guest dropped, reads all ones, DMA blocked. */
  fences: Map<number, SevFence>;
}

export function createSevState(): SevState {
  return { guests: new Map(), devs: new Map(), tdis: new Map(), fences: new Map() };
}

/** What a SEV-TIO call works on: the hardware, the TSM core's records and the flavour's. */
export type SevPlatform = Platform<SevState>;

/** The guest context of `vm`, if any. */
export function guestOfVm(sev: SevState, vm: VmId): SevGuestContext | undefined {
  for (const g of sev.guests.values()) if (g.vm === vm) return g;
  return undefined;
}

/** The TDI bound to guest `gctx` under guest device id `guestDeviceId`. */
export function tdiOfGuest(
  sev: SevState,
  gctx: GctxPaddr,
  guestDeviceId: number,
): SevTdiContext | undefined {
  for (const t of sev.tdis.values()) {
    if (t.gctx === gctx && t.guestDeviceId === guestDeviceId) return t;
  }
  return undefined;
}
