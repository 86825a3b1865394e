/**
 * The VMM's records (QEMU's view of its machine): for each confidential VM it runs, the KVM fd,
 * the guest RAM it gave the VM, and the devices it assigned with everything it opened for them
 * (the VFIO cdev, the iommufd objects, the BAR dma-bufs and their memslots), keyed by the
 * virtual BDF the guest sees. Plain data apart from HostState (the kernel's records), so a
 * world clones and hashes both; the VMM reaches the kernel only through uAPI calls.
 */
import type { Rid, VmId } from '../../platform/ids.ts';
import type { VmmRelay } from './relay.ts';

/** A BAR of an assigned device as the guest sees it, and the host objects behind it. */
export interface VmmBar {
  bar: number;
  /** The guest physical address the VMM placed the BAR at, and its size. */
  gpa: bigint;
  size: bigint;
  /** The dma-buf exported for the BAR (VFIO_DEVICE_FEATURE_DMA_BUF). */
  dmaBuf: number;
  /** The KVM_MEM_VFIO_DMABUF memslot at `gpa`. */
  slot: number;
}

/** A device assigned to a VM: the guest's view (vdevId, BARs) and the host's handles. */
export interface VmmDevice {
  /** The virtual BDF (vDEVICE virt_id) the guest sees the device at. */
  vdevId: number;
  rid: Rid;
  /** The VFIO device cdev fd, and its iommufd dev id. */
  vfioFd: number;
  devId: number;
  ioas: number;
  hwpt: number;
  viommu: number;
  vdevice: number;
  bars: VmmBar[];
  /** The VMM bound the device (the guest's tsm-bind, or its own early bind; no unbind since). */
  tsmBound: boolean;
  /**
   * The VMM bound the device itself when it assigned it (switch `bindTime` 'early') and has
   * not unbound it since: the guest's tsm-bind is answered from this record.
   */
  boundEarly: boolean;
}

export interface VmmVm {
  /** The KVM VM fd, and the name the firmware knows the VM by. */
  vmFd: number;
  vm: VmId;
  /** The guest_memfd behind the VM's RAM. */
  guestMemfd: number;
  /** The RAM memslot: guest pages [0, ramPages) at GPA 0. */
  ramSlot: number;
  ramPages: number;
  /** The next memslot id and the next free GPA of the device MMIO window. */
  nextSlot: number;
  nextMmioGpa: bigint;
  /** Assigned devices by virtual BDF. */
  devices: Map<number, VmmDevice>;
  /** How the VMM relays the guest's TSM requests (relay.ts); absent: it carries them. */
  relay?: VmmRelay;
}

export interface VmmState {
  /** The VMM's iommufd (0 until it opened /dev/iommu). */
  iommufd: number;
  /** VMs by KVM VM fd. */
  vms: Map<number, VmmVm>;
}

export const createVmmState = (): VmmState => ({ iommufd: 0, vms: new Map() });

/** Where the VMM places device BARs in guest physical space (above 1 GiB of RAM space). */
export const VMM_MMIO_BASE = 0x4000_0000n;
