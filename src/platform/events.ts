/**
 * What the platform hardware reports (DESIGN.md principle 3): every transaction the fabric
 * routed or refused, in the trust domain that issued it (a host CPU access, a guest CPU access,
 * a device's DMA), with its verdict as PCIe completes it (SC, UR, CA) and the reason for a
 * refusal; memory conversions; secure EPT, IOMMU, secure DMA and root-port IDE changes under
 * their real operation names; and every refused operation with its error.
 */
import type { MmioRefusal } from '../device/pci/datapath.ts';
import type { Rid, VmId } from './ids.ts';
import type { PageOwner } from './memory.ts';
import type { SeptEntryState, SeptOp, SeptTarget } from './sept.ts';
import type { KeySlotRef } from './tsm/ide-km-client.ts';

/** Who issued a transaction: an untrusted host CPU, a confidential guest CPU, a device. */
export type TransactionDomain = 'host' | 'guest' | 'device';

/** PCIe completion status (2.2.9): Successful, Unsupported Request, Completer Abort. */
export type Verdict = 'SC' | 'UR' | 'CA';

/** Why the fabric refused a transaction. */
export type FabricRefusal =
  // T=0 DMA through the host's IOMMU tables
  | 'no-iommu-domain'
  | 'iommu-not-mapped'
  | 'iommu-read-only'
  | 'not-host-memory'
  | 'private-page-untrusted-dma'
  // T=1 (DMA and MMIO): the IDE stream, the TSM's view, the secure tables
  | 'no-ide-stream'
  | 'ide-stream-insecure-root-port'
  | 'ide-stream-insecure-device'
  | 'no-secure-dma-context'
  | 'secure-dma-not-accepted'
  | 'secure-dma-blocked'
  | 'tdi-not-run'
  | 'no-secure-ept'
  | 'sept-not-mapped'
  | 'sept-pending'
  | 'sept-blocked'
  | 'sept-removed'
  | 'sept-mmio-target'
  | 'sept-memory-target'
  | 'page-not-private-to-vm'
  /** The IOMMU's own table of the VM maps no page there (design question 8, 'mirrored'). */
  | 'mirror-not-mapped'
  // MMIO routing
  | 'crosses-page'
  | 'no-bar'
  | 'no-device'
  | 'private-bar-page'
  | 'shared-ept-not-mapped'
  | 'bar-rid-mismatch'
  | 'device-refused';

export interface TransactionEvent {
  kind: 'transaction';
  domain: TransactionDomain;
  request: 'MemRd' | 'MemWr';
  t: boolean;
  /** As issued: a device's IOVA / GPA, a host's bus address, a guest's GPA. */
  address: bigint;
  length: number;
  /** The requester (DMA) or the function addressed (MMIO), when known. */
  rid?: Rid;
  /** The guest that issued it, or the VM a T=1 DMA was checked against. */
  vm?: VmId;
  /** The IDE stream a T=1 transaction travelled on. */
  stream?: number;
  verdict: Verdict;
  reason?: FabricRefusal;
  /** The device's own refusal when reason is 'device-refused'. */
  deviceReason?: MmioRefusal;
}

export interface MemoryEvent {
  kind: 'memory';
  op: 'assign-private' | 'assign-firmware' | 'release-to-shared';
  hpfn: bigint;
  owner: PageOwner;
  scrubbed?: boolean;
}

export interface SeptEvent {
  kind: 'sept';
  op: SeptOp;
  vm: VmId;
  gfn?: bigint;
  /** The entry's state afterwards (absent: the entry is gone). */
  state?: SeptEntryState;
  target?: SeptTarget;
  epoch?: number;
}

export interface IommuEvent {
  kind: 'iommu';
  op:
    | 'iommu_domain_alloc'
    | 'iommu_attach_device'
    | 'iommu_detach_device'
    | 'iommu_map'
    | 'iommu_unmap';
  domain: number;
  rid?: Rid;
  iovaPfn?: bigint;
  hpfn?: bigint;
  writable?: boolean;
}

export interface SecureDmaEvent {
  kind: 'secure-dma';
  op: 'TDH.DMAR.ADD' | 'TDG.DMAR.ACCEPT' | 'TDH.DMAR.BLOCK' | 'TDH.DMAR.REMOVE';
  rid: Rid;
  vm: VmId;
}

export interface RootPortIdeEvent {
  kind: 'root-port-ide';
  op: 'KEY_PROG' | 'K_SET_GO' | 'K_SET_STOP' | 'RID_ASSOCIATE' | 'RID_DISSOCIATE';
  streamId: number;
  slot?: KeySlotRef;
  rid?: Rid;
  /** The stream's state at the root port afterwards. */
  state: 'secure' | 'insecure';
}

export interface SharedEptEvent {
  kind: 'shared-ept';
  op: 'map' | 'unmap';
  vm: VmId;
  gfn: bigint;
  hpfn?: bigint;
}

export interface BarRouteEvent {
  kind: 'bar-route';
  op: 'add' | 'remove';
  rid: Rid;
  bar: number;
  base?: bigint;
  size?: bigint;
}

/**
 * The IOMMU's report of a refused T=1 DMA to the TSM (design switch `droppedDma: 'report'`,
 * tsm/dma-fault.ts), by each flavour's fault record: VT-d's DMA remapping fault
 * ('DMAR_FAULT'), AMD-Vi's event log entry ('IO_PAGE_FAULT'), the SMMUv3 event queue's
 * ('F_TRANSLATION'). Which of its fault kinds it was stays in `reason`, the fabric's.
 */
export interface DmaFaultEvent {
  kind: 'dma-fault';
  op: DmaFaultName;
  rid: Rid;
  vm: VmId;
  request: 'MemRd' | 'MemWr';
  address: bigint;
  reason: FabricRefusal;
  /** The TDI's state on the TSM's side afterwards: out of RUN. */
  tdiState: 'ERROR';
}

/** The fault record each flavour's IOMMU reports a refused T=1 DMA with. */
export type DmaFaultName = 'DMAR_FAULT' | 'IO_PAGE_FAULT' | 'F_TRANSLATION';

export interface RefusedEvent {
  kind: 'refused';
  op: string;
  error: string;
  reason: string;
}

export type PlatformEvent =
  | TransactionEvent
  | MemoryEvent
  | SeptEvent
  | IommuEvent
  | SecureDmaEvent
  | RootPortIdeEvent
  | SharedEptEvent
  | BarRouteEvent
  | DmaFaultEvent
  | RefusedEvent;

/** Operations the TSM performs (the rest of the non-guest ones are the host's). */
const TSM_OPS = new Set([
  'assign-private',
  'assign-firmware',
  'release-to-shared',
  'KEY_PROG',
  'K_SET_GO',
  'K_SET_STOP',
  'RID_ASSOCIATE',
  'RID_DISSOCIATE',
  // The IOMMU reports to the TSM, which acts on it (tsm/dma-fault.ts).
  'DMAR_FAULT',
  'IO_PAGE_FAULT',
  'F_TRANSLATION',
]);

/**
 * The trust domain an event belongs to: a transaction's issuer; the guest for its own calls
 * (TDG.*); the TSM for firmware operations (TDH.*, RMI_*, page conversions, root-port IDE);
 * the host for what it programs itself (IOMMU domains, shared EPT, BAR routing).
 */
export function platformEventDomain(e: PlatformEvent): 'host' | 'guest' | 'device' | 'tsm' {
  if (e.kind === 'transaction') return e.domain;
  const op = e.kind === 'memory' ? e.op : 'op' in e ? e.op : '';
  if (op.startsWith('TDG.')) return 'guest';
  if (op.startsWith('TDH.') || op.startsWith('RMI_') || TSM_OPS.has(op)) return 'tsm';
  return 'host';
}
