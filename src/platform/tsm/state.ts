/**
 * The TSM's own records (SYSTEM.md sections 1, 3 "TSM firmware", 4), as plain data
 * (DESIGN.md principle 2): the devices it connected (one SPDM session and IDE stream each),
 * the TDIs it knows and the confidential VM each is bound to, and the VMs. The vendor
 * flavours (tdx/, sev/, cca/) keep their own ABI records beside these and drive them only
 * through the core operations of this folder, so the rules every flavour shares (a TDI is
 * bound to exactly one VM; private MMIO only for a bound TDI and inside its report; trusted
 * DMA only once the guest accepted it; nothing private survives an unbind) live once.
 *
 * Everything here survives structuredClone and hashes with world/hash.ts canonicalHash,
 * the SPDM sessions included.
 */
import type { RequesterData } from '../../spdm/requester/state.ts';
import type { InterfaceId } from '../../wire/tdisp/header.ts';
import { type PfnTable, pfnTable } from '../pfn-table.ts';
import type { DmaFault } from './dma-fault.ts';

/** A confidential VM (TD, SNP guest, realm) as the TSM names it. */
export type VmId = string;

/** TDISP TDI states (PCIe 6.x 11.3.3), as the TSM last learnt them from the DSM. */
export type TdiStateName = 'CONFIG_UNLOCKED' | 'CONFIG_LOCKED' | 'RUN' | 'ERROR';

/** One MMIO range of a TDI's interface report, placed in host physical (bus) addresses. */
export interface ReportedRange {
  rangeId: number;
  /** First byte: FIRST_PAGE x 4 KiB minus the MMIO_REPORTING_OFFSET the LOCK asked for. */
  base: bigint;
  pages: number;
  msixTable: boolean;
  msixPba: boolean;
  /** IS_NON_TEE_MEM: never mapped private. */
  nonTee: boolean;
}

/** The SPDM connection to a DSM: what the TSM keeps between calls. */
export interface TsmLink {
  /** The established session carrying IDE_KM and TDISP. */
  sessionId: number;
  /** SHA-384 of the certificate chain the session was authenticated with (slot 0). */
  chainDigest: Uint8Array;
  /** The SPDM version negotiated. */
  version: number;
}

/** The IDE stream between the root port and the device (PCIe 6.x 6.33). */
export interface TsmStream {
  streamId: number;
  /** 'secure' after KEY_PROG + K_SET_GO of every sub-stream at both ends. */
  state: 'secure' | 'stopped';
}

/** A device whose DSM the TSM talks to (TDX: the SPDM object; SEV: DEV_CREATE; CCA: PDEV). */
export interface TsmDevice {
  /** Requester id of the function hosting the DSM (function 0). */
  rid: number;
  phase: 'created' | 'connected' | 'disconnected';
  link?: TsmLink;
  stream?: TsmStream;
}

/** A TDI the TSM has a record of. */
export interface TsmTdi {
  /** Requester id of the TDI's function. */
  rid: number;
  /** The DSM's device (requester id of function 0). */
  device: number;
  interfaceId: InterfaceId;
  /** The one VM the TDI is bound to. */
  vm?: VmId;
  /** As the DSM last answered (GET_DEVICE_INTERFACE_STATE or the transition's response). */
  state: TdiStateName;
  /** START_INTERFACE_NONCE from LOCK_INTERFACE_RESPONSE; wiped at STOP and unbind. */
  nonce?: Uint8Array;
  /** MMIO_REPORTING_OFFSET the LOCK asked for. */
  reportingOffset: bigint;
  /** The interface report as fetched (bytes) and its ranges in host physical addresses. */
  report?: { bytes: Uint8Array; ranges: ReportedRange[] };
  /** Private MMIO pages mapped in the VM's secure EPT: gfn (a number key, ids.ts Pfn) -> host page frame. */
  mmio: Map<number, bigint>;
  /** The trusted DMA context: 'added' by the host, 'accepted' by the guest, 'blocked'. */
  dma: 'none' | 'added' | 'accepted' | 'blocked';
  /**
   * The refused T=1 DMA the IOMMU reported while the TDI ran (switch droppedDma 'report',
   * dma-fault.ts): why the TSM holds the TDI in ERROR whatever the device says, until STOP.
   */
  dmaFault?: DmaFault;
}

/** A confidential VM the TSM created. */
export interface TsmVm {
  id: VmId;
  /** Measured and running: pages now arrive only through AUG + guest accept. */
  finalized: boolean;
  /** TDIs bound to it (requester ids). */
  tdis: Set<number>;
}

/** Who maps a BAR page as private MMIO (a page has one owner). */
export interface MmioPageOwner {
  vm: VmId;
  rid: number;
  gfn: bigint;
}

export interface TsmState {
  devices: Map<number, TsmDevice>;
  tdis: Map<number, TsmTdi>;
  vms: Map<VmId, TsmVm>;
  /**
   * Every private MMIO page by host page frame: one lookup, however many TDIs are bound.
   * Keyed by the frame as a number (V8 hashes BigInt keys poorly), in a PfnTable because
   * pages are mapped and unmapped over and over (pfn-table.ts).
   */
  mmioPages: PfnTable<MmioPageOwner>;
  /**
   * The SPDM requester's whole state per DSM (by requester id of function 0): connection,
   * transcripts, verified chains, the sessions with their keys and sequence numbers. Plain
   * data, so a cloned platform keeps its sessions (link.ts).
   */
  links: Map<number, RequesterData>;
  /**
   * Seeded flaws of the TSM (world/flaws.ts) the world switched on; absent in faithful
   * firmware. 'tsm-map-unchecked': private MMIO is mapped without checking the TDI's binding,
   * state or report (private-mmio.ts); 'tsm-remove-with-mappings': a TDI is released with its
   * private MMIO and trusted DMA left in place (release.ts, TDX DEVIF.REMOVE).
   */
  flaws?: string[];
}

export function createTsmState(): TsmState {
  return {
    devices: new Map(),
    tdis: new Map(),
    vms: new Map(),
    mmioPages: pfnTable(),
    links: new Map(),
  };
}

/** The fabric's question to the TSM: may this requester id issue T=1 DMA now? */
export function tdiRunning(tsm: TsmState, rid: number): boolean {
  const t = tsm.tdis.get(rid);
  return t !== undefined && t.state === 'RUN' && t.vm !== undefined;
}
