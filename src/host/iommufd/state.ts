/**
 * iommufd's objects (drivers/iommu/iommufd) by id, in one id space as the kernel's xarray:
 * IOAS, HWPT, vIOMMU, vDEVICE and the bound devices. The IOMMU hardware tables themselves are
 * the platform's (HostMachine.iommu); these are the host's records of what it asked for.
 */
import type { Rid } from '../../platform/ids.ts';

export type IommufdObject =
  | { type: 'device'; id: number; rid: Rid; vfioFd: number }
  /** An IO address space: IOVA page -> host page, as IOMMU_IOAS_MAP asked. */
  | {
      type: 'ioas';
      id: number;
      maps: Map<bigint, bigint>;
      /** IOVA pages mapped with IOMMU_IOAS_MAP_WRITEABLE. */
      writable: Set<bigint>;
    }
  /** A page table allocated for a device from an IOAS (the IOMMU domain behind it). */
  | { type: 'hwpt'; id: number; ioas: number; domain: number; devId: number }
  /** A vIOMMU: KVM-associated when the VMM gave it the VM (needed for TSM bind). */
  | { type: 'viommu'; id: number; devId: number; hwpt: number; kvmVmFd?: number }
  /** A vDEVICE: the guest's view (virt_id) of a device behind a vIOMMU; `tsmBound` once bound. */
  | {
      type: 'vdevice';
      id: number;
      viommu: number;
      devId: number;
      virtId: bigint;
      tsmBound: boolean;
    };

export interface IommufdState {
  /** The iommufd fd this state belongs to (0 until /dev/iommu is opened). */
  fd: number;
  objects: Map<number, IommufdObject>;
  nextId: number;
}

export const createIommufdState = (): IommufdState => ({ fd: 0, objects: new Map(), nextId: 1 });
