/**
 * The CCA TSM host driver's own records (what Linux's arm-cca-host driver and KVM's arm64
 * realm code keep beside the RMM's objects), plain data in HostState.tsmDriver.cca: the
 * PDEVs it created with the certificate chain the RMM handed it to cache, the VDEVs with
 * the interface report last cached, and per Realm whether it is active, the data granules
 * it delegated and the device memory it mapped. Only what the firmware confirmed is here.
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import type { HostState } from '../../state.ts';

export interface CcaPdevRecord {
  /** Requester id of function 0: the RMM's name for the PDEV in this model. */
  pdev: Rid;
  /** The SPDM certificate chain buffer from RMI_PDEV_COMMUNICATE's cache (the Realm reads it). */
  certChain: Uint8Array;
}

export interface CcaVdevRecord {
  /** Requester id of the TDI (tdi_id). */
  tdi: Rid;
  pdev: Rid;
  rd: VmId;
  /** The guest's name for the device (vdev_id). */
  vdevId: bigint;
  /** The interface report from the last RMI_VDEV_COMMUNICATE that cached one since LOCK. */
  report?: Uint8Array;
}

/** A page of device memory mapped into a Realm with RMI_VDEV_MAP. */
export interface CcaMmioRecord {
  tdi: Rid;
  pa: bigint;
  /** Taken back by the driver's stop (RMI_VDEV_UNLOCK needs none mapped); KVM has yet to drop it. */
  released?: true;
}

export interface CcaRealmRecord {
  rd: VmId;
  /** RMI_REALM_ACTIVATE done: new data granules have unknown contents. */
  active: boolean;
  /** Data granules by guest frame: the host frame delegated. */
  data: Map<bigint, bigint>;
  /** Device memory by guest frame. */
  mmio: Map<bigint, CcaMmioRecord>;
}

export interface CcaDriverRecords {
  pdevs: Map<Rid, CcaPdevRecord>;
  vdevs: Map<Rid, CcaVdevRecord>;
  realms: Map<VmId, CcaRealmRecord>;
}

const empty = (): CcaDriverRecords => ({ pdevs: new Map(), vdevs: new Map(), realms: new Map() });

/** The records to read; an empty set, not attached, when none was written yet. */
export function ccaRecords(h: HostState): Readonly<CcaDriverRecords> {
  return (h.tsmDriver.cca as CcaDriverRecords | undefined) ?? empty();
}

/** The records to write, created on the first write (only after the firmware agreed). */
export function ccaRecordsToWrite(h: HostState): CcaDriverRecords {
  h.tsmDriver.cca ??= empty();
  return h.tsmDriver.cca as CcaDriverRecords;
}

/** The PDEV this driver created for the device of `rid` (same bus: the PDEV's rid range). */
export function pdevOf(h: HostState, rid: Rid): CcaPdevRecord | undefined {
  for (const d of ccaRecords(h).pdevs.values()) if (d.pdev >>> 8 === rid >>> 8) return d;
  return undefined;
}
