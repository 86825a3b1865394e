/**
 * The TDX TSM host driver's own records (what Linux's tdx-host driver and KVM's TDX code keep
 * beside the TDX module's objects), plain data in HostState.tsmDriver.tdx: per DSM the SPDM
 * object's index and the IDE stream it created, per TD whether TDH.MR.FINALIZE was done (ADD
 * before, AUG after), per TDI the DEVIF it created and how far the driver took it, the MMIO
 * metadata table entries it added, and the private MMIO it mapped. Only what the firmware
 * confirmed is entered here.
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import type { HostState } from '../../state.ts';

/** A DSM the driver connected: TDH.SPDM.CREATE's operands and TDH.IDE.STREAM.CREATE's stream. */
export interface TdxDeviceRecord {
  /** Requester id of function 0. */
  dsm: Rid;
  iommuId: number;
  spdmIdx: number;
  streamId: number;
}

/** A TDI the driver gave a DEVIF (TDH.DEVIF.CREATE) and locked. */
export interface TdxDevifRecord {
  rid: Rid;
  /** FUNCTION_ID the module knows the DEVIF by. */
  functionId: number;
  dsm: Rid;
  td: VmId;
  /**
   * 'locked' after bind's LOCK (the TD may since have started it: RUN), 'stopped' after
   * STOP_INTERFACE_REQUEST: CONFIG_UNLOCKED, its private MMIO may now be unmapped.
   */
  tdisp: 'locked' | 'stopped';
  /** TDH.DMAR.ADD done and not yet removed. */
  dma: boolean;
}

/** A private MMIO page the driver mapped with TDH.MMIO.MAP. */
export interface TdxMmioRecord {
  pfn: bigint;
  rid: Rid;
}

export interface TdxDriverRecords {
  devices: Map<Rid, TdxDeviceRecord>;
  /** TDs by the name the module knows: true once finalized. */
  tds: Map<VmId, boolean>;
  devifs: Map<Rid, TdxDevifRecord>;
  /** MMIO metadata table entries the driver added: BAR page -> the TDI it set as owner. */
  mmiomt: Map<bigint, Rid>;
  /** Private MMIO by TD, then guest frame. */
  mmio: Map<VmId, Map<bigint, TdxMmioRecord>>;
}

const empty = (): TdxDriverRecords => ({
  devices: new Map(),
  tds: new Map(),
  devifs: new Map(),
  mmiomt: new Map(),
  mmio: new Map(),
});

/** The records to read; an empty set, not attached, when none was written yet. */
export function tdxRecords(h: HostState): Readonly<TdxDriverRecords> {
  return (h.tsmDriver.tdx as TdxDriverRecords | undefined) ?? empty();
}

/** The records to write, created on the first write (only after the firmware agreed). */
export function tdxRecordsToWrite(h: HostState): TdxDriverRecords {
  h.tsmDriver.tdx ??= empty();
  return h.tsmDriver.tdx as TdxDriverRecords;
}

/** The DSM managing `rid` as the PCI/TSM core probed it (same bus as function 0). */
export function dsmOf(h: HostState, rid: Rid): Rid | undefined {
  for (const d of h.pciTsm.devices.values()) if (d.functions.includes(rid)) return d.dsm;
  return undefined;
}
