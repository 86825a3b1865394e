/** The PCI/TSM core's records (drivers/pci/tsm.c): one per function with a DSM link. */
import type { Rid, VmId } from '../../platform/ids.ts';

export interface PciTsmDevice {
  /** The DSM's function 0, whose DOE mailbox carries the SPDM session. */
  dsm: Rid;
  /** The functions the DSM manages (probed at connect). */
  functions: Rid[];
  /** The link TSM it is connected through ('tsm0'), when connected. */
  connectedTo?: string;
  /** Bound TDIs: requester id -> the VM and the guest's virtual BDF. */
  bound: Map<Rid, { vm: VmId; vdevId: number }>;
}

export interface PciTsmState {
  /** Keyed by the DSM's requester id. */
  devices: Map<Rid, PciTsmDevice>;
}

export const createPciTsmState = (): PciTsmState => ({ devices: new Map() });
