/**
 * The transaction-level data paths of a function (PCIe 2.2 memory requests and their
 * completion status; TDISP 11.2 T bit): what an MMIO request or a DMA request returns, the
 * port the device's requests go up through, and the policy hook the DSM installs to
 * decide T-bit traffic. With no DSM, only T=0 traffic completes.
 */

/**
 * The DSM's say on T-bit traffic, and the DSM-owned facts the hardware shows: whether
 * LOCK_MSIX is in force for a function (the DSM's LockRecord) and whether an IDE stream
 * is Secure (the DSM's IDE_KM key state). The hardware keeps no copy of either.
 */
export interface TeePolicy {
  /** May this MMIO request reach the BAR? 'UR' completes it with Unsupported Request. */
  mmio(fn: number, bar: number, offset: number, t: boolean, write: boolean): 'ok' | 'UR';
  /** The T bit the function's DMA engine sets on its requests now. */
  dmaT(fn: number): boolean;
  /** LOCK_MSIX holds the function's MSI-X table, PBA and control (absent: never). */
  msixLocked?(fn: number): boolean;
  /** The stream's keys are started, K_SET_GO on every sub-stream (absent: never). */
  streamSecure?(streamId: number): boolean;
}

/** With no DSM installed: ordinary (T=0) traffic only. */
export const DEFAULT_TEE_POLICY: TeePolicy = {
  mmio: (_fn, _bar, _offset, t) => (t ? 'UR' : 'ok'),
  dmaT: () => false,
};

export type MmioRefusal =
  | 'no-such-function'
  | 'no-such-bar'
  | 'outside-bar'
  | 'power-state'
  | 'memory-space-disabled'
  | 'tee-policy';

export type MmioReadResult =
  | { status: 'SC'; data: Uint8Array }
  | { status: 'UR'; reason: MmioRefusal };
export type MmioWriteResult = { status: 'SC' } | { status: 'UR'; reason: MmioRefusal };

/** Where the device's memory requests go (the platform's root port / IOMMU). */
export interface UpstreamPort {
  memWrite(req: {
    requesterId: number;
    address: bigint;
    data: Uint8Array;
    t: boolean;
  }): 'SC' | 'UR' | 'CA';
  memRead(req: {
    requesterId: number;
    address: bigint;
    length: number;
    t: boolean;
  }): { status: 'SC'; data: Uint8Array } | { status: 'UR' | 'CA' };
}

export type DmaResult =
  | { issued: true; t: boolean; status: 'SC'; data?: Uint8Array }
  | { issued: true; t: boolean; status: 'UR' | 'CA' }
  | {
      issued: false;
      reason: 'no-such-function' | 'power-state' | 'bus-master-disabled' | 'no-upstream';
    };
