/**
 * VFIO's records (drivers/vfio, vfio-pci core): each opened device cdev by fd, its binding
 * to an iommufd, its power and memory state as the host drives them, and the TSM binding.
 */
import type { Rid } from '../../platform/ids.ts';

export interface VfioDevice {
  fd: number;
  rid: Rid;
  /** VFIO_DEVICE_BIND_IOMMUFD: the iommufd device id; `private` with ..._PRIVATE. */
  bound?: { iommufd: number; devId: number; private: boolean };
  /** The BARs are claimed exclusively (no host mapping of them can exist). */
  claimed: boolean;
  /** Memory Space Enable as the host last wrote it, and the power state. */
  memoryEnabled: boolean;
  power: 'D0' | 'D3hot';
  /**
   * VFIO_DEVICE_TSM_BIND: the vDEVICE id the TDI is bound through, and with switch bareMetal
   * 'host-context' and no KVM VM, the TSM's context the host process owns (host-context.ts).
   */
  tsmBound?: { vdeviceId: number; hostContext?: HostContext };
  /** dma-buf fds exported from this device. */
  dmaBufs: number[];
  /** BAR indexes the host has mmapped (a claim refuses while any is mapped). */
  mmapped: number[];
}

/**
 * The no-VM attestation context of a bare-metal TSM bind: the firmware's VM record made for
 * the host process (its name as the TSM driver knows it), and the pages the process mapped
 * into it (host frame numbers, identity: the process's address of a page is its physical
 * address, as DPDK's IOVA-as-PA mode).
 */
export interface HostContext {
  vm: string;
  mmio: bigint[];
  memory: bigint[];
}

export interface VfioState {
  devices: Map<number, VfioDevice>;
  /**
   * Seeded flaws of VFIO (world/flaws.ts) the world switched on; absent in a faithful kernel.
   * 'vfio-no-revoke-on-unbind': the TSM unbind leaves the device's dma-bufs unrevoked.
   */
  flaws?: string[];
}

export const createVfioState = (): VfioState => ({ devices: new Map() });
