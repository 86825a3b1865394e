/**
 * The dma-bufs the host exported (drivers/dma-buf): for this model, VFIO's BAR exports
 * (VFIO_DEVICE_FEATURE_DMA_BUF) and their importers. A revoked buffer keeps its fd but
 * cannot be attached or mapped (-ENODEV) until the exporter restores it.
 */
import type { Rid } from '../../platform/ids.ts';

export interface DmaBufRange {
  /** Bus address of the first byte and length, page aligned, inside one BAR. */
  address: bigint;
  length: bigint;
}

export interface DmaBufImporter {
  /** Who imported it: a KVM memslot ('kvm', vm fd, slot) or another device ('device'). */
  kind: 'kvm' | 'device';
  vmFd?: number;
  slot?: number;
  /** A device importer: its requester id (peer-to-peer DMA through the IOMMU path). */
  rid?: Rid;
  /** The importer mapped the attachment (and must unmap on move_notify). */
  mapped: boolean;
}

export interface DmaBuf {
  fd: number;
  /** The exporter: the VFIO device fd and the function behind it. */
  vfioFd: number;
  rid: Rid;
  bar: number;
  ranges: DmaBufRange[];
  /** The exporter's BAR is private (the TDI is bound): no mmap, only KVM may import. */
  private: boolean;
  /** 'revoked' after move_notify on MSE clear / D3 / FLR / reset; 'closed' when the device file closed. */
  state: 'live' | 'revoked' | 'closed';
  importers: DmaBufImporter[];
}

export interface DmaBufState {
  bufs: Map<number, DmaBuf>;
}

export const createDmaBufState = (): DmaBufState => ({ bufs: new Map() });
