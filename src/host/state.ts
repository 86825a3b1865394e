/**
 * The untrusted host kernel's records, all plain data (DESIGN.md principle 2): the PCI/TSM
 * core, the VFIO device files, the dma-bufs, iommufd's objects, KVM's VMs, the TSM host
 * driver's own records, and the design switches. File descriptors are one number space,
 * as in one process (the VMM). structuredClone copies it; world/hash.ts hashes it.
 */
import { createDmaBufState, type DmaBufState } from './dma-buf/state.ts';
import { createIommufdState, type IommufdState } from './iommufd/state.ts';
import { createKvmState, type KvmState } from './kvm/state.ts';
import { createPciTsmState, type PciTsmState } from './pci-tsm/state.ts';
import { DEFAULT_HOST_SWITCHES, type HostSwitches } from './switches.ts';
import { createVfioState, type VfioState } from './vfio/state.ts';

export interface HostState {
  switches: HostSwitches;
  /** The next file descriptor an open or an export returns. */
  nextFd: number;
  pciTsm: PciTsmState;
  vfio: VfioState;
  dmaBufs: DmaBufState;
  iommufd: IommufdState;
  kvm: KvmState;
  /** The TSM host driver's records (firmware handles), shaped by the flavour's driver. */
  tsmDriver: Record<string, unknown>;
}

/** @param switches the world's switches; the host keeps its own (the platform's go to it) */
export function createHostState(switches: Partial<HostSwitches> = {}): HostState {
  const own: HostSwitches = { ...DEFAULT_HOST_SWITCHES };
  for (const k of Object.keys(own) as (keyof HostSwitches)[]) {
    if (switches[k] !== undefined) (own as unknown as Record<string, unknown>)[k] = switches[k];
  }
  return {
    switches: own,
    nextFd: 3,
    pciTsm: createPciTsmState(),
    vfio: createVfioState(),
    dmaBufs: createDmaBufState(),
    iommufd: createIommufdState(),
    kvm: createKvmState(),
    tsmDriver: {},
  };
}

/** Allocates a file descriptor. */
export function allocFd(h: HostState): number {
  return h.nextFd++;
}
