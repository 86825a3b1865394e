/**
 * Finding an open VFIO device file, and the PCI capability walk vfio-pci does through config
 * space (pci_find_capability) to reach the power-management and PCI Express registers.
 */
import { PCI_CAP_LIST_ID, PCI_CAP_LIST_NEXT, PCI_CAPABILITY_LIST } from '../../device/pci/regs.ts';
import type { Rid } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import type { HostState } from '../state.ts';
import type { VfioDevice } from './state.ts';

/** The open device behind `fd`, or undefined (the ioctl answers -EBADF). */
export function vfioDeviceOf(h: HostState, fd: number): VfioDevice | undefined {
  return h.vfio.devices.get(fd);
}

/** The open device file of function `rid`, if any. */
export function vfioDeviceByRid(h: HostState, rid: Rid): VfioDevice | undefined {
  for (const d of h.vfio.devices.values()) if (d.rid === rid) return d;
  return undefined;
}

/** pci_find_capability: the config offset of capability `id`, or undefined. */
export function pciFindCapability(m: HostMachine, rid: Rid, id: number): number | undefined {
  let off = m.configRead(rid, PCI_CAPABILITY_LIST, 1) & 0xfc;
  // At most 48 capabilities fit in the 192 bytes after the header: a loop guard.
  for (let n = 0; off !== 0 && n < 48; n++) {
    if (m.configRead(rid, off + PCI_CAP_LIST_ID, 1) === id) return off;
    off = m.configRead(rid, off + PCI_CAP_LIST_NEXT, 1) & 0xfc;
  }
  return undefined;
}

export const hexRid = (rid: Rid): string => `0x${rid.toString(16)}`;
