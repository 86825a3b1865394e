/**
 * The PCI core's own function reset, pci_reset_function (drivers/pci/pci.c): state saved,
 * the device disabled, FLR through PCI Express Device Control, state restored. Shared by the
 * sysfs reset file (world/ops/host-config.ts) and the TSM bind under switch `preLockReset`
 * 'flr' (vfio/tsm.ts), so both reset the same way.
 */
import { walkExtCapabilities } from '../../device/pci/config-space.ts';
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_5,
  PCI_CAP_ID_EXP,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_EXT_CAP_ID_SRIOV,
  PCI_ROM_ADDRESS,
  PCI_SRIOV_BAR,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_NUM_VF,
} from '../../device/pci/regs.ts';
import type { Rid } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import { pciFindCapability } from '../vfio/device.ts';

type Size = 1 | 2 | 4;

/** The PCI domain:bus:device.function name of `rid`, as the kernel prints it. */
export const bdfOf = (rid: Rid): string =>
  `0000:${(rid >>> 8).toString(16).padStart(2, '0')}:${((rid >>> 3) & 0x1f).toString(16).padStart(2, '0')}.${rid & 7}`;

/** The SR-IOV capability of a PF, if it has one. */
export function sriovOf(m: HostMachine, rid: Rid): number | undefined {
  const read = (o: number, s: number) => m.configRead(rid, o, s as Size);
  return walkExtCapabilities(read).find((c) => c.id === PCI_EXT_CAP_ID_SRIOV)?.offset;
}

/**
 * pci_reset_function's save / disable / reset / restore around an FLR. -ENOTTY without a
 * PCI Express capability. The MSI-X vectors are not restored (pci_restore_msi_state is not
 * modelled): the table is as the FLR left it.
 */
export function pciResetFunction(m: HostMachine, rid: Rid): HostOutcome {
  const args = { bdf: bdfOf(rid) };
  const op = 'pci_reset_function';
  const exp = pciFindCapability(m, rid, PCI_CAP_ID_EXP);
  if (exp === undefined) return hostErr('pci', op, args, 'ENOTTY', 'no PCI Express capability');
  // pci_save_state: Command, BARs and ROM (PF header), and a PF's SR-IOV state.
  const saved: [number, Size, number][] = [];
  const save = (o: number, s: Size) => saved.push([o, s, m.configRead(rid, o, s)]);
  for (let o = PCI_BASE_ADDRESS_0; o <= PCI_BASE_ADDRESS_5; o += 4) save(o, 4);
  save(PCI_ROM_ADDRESS, 4);
  const sriov = sriovOf(m, rid);
  if (sriov !== undefined) {
    save(sriov + PCI_SRIOV_NUM_VF, 2);
    for (let i = 0; i < 6; i++) save(sriov + PCI_SRIOV_BAR + 4 * i, 4);
    // pci_restore_iov_state sets VF Enable last, once NumVFs and the VF BARs are back.
    save(sriov + PCI_SRIOV_CTRL, 2);
  }
  const command = m.configRead(rid, PCI_COMMAND, 2);
  // pci_dev_save_and_disable: the device stops decoding and mastering before the reset.
  m.configWrite(rid, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
  const ctl = m.configRead(rid, exp + PCI_EXP_DEVCTL, 2);
  m.configWrite(rid, exp + PCI_EXP_DEVCTL, 2, ctl | PCI_EXP_DEVCTL_BCR_FLR);
  // pci_dev_restore: what a plain FLR-reset function reads back as its reset image differs.
  for (const [o, s, v] of saved) {
    if (m.configRead(rid, o, s) !== v) m.configWrite(rid, o, s, v);
  }
  m.configWrite(rid, PCI_COMMAND, 2, command);
  return hostOk('pci', op, args, undefined);
}
