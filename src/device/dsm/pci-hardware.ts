/**
 * The DSM's hardware interface over teeio's PCIe device model (device/pci/): the DSM sits
 * inside the device, so it reads function 0's IDE Extended Capability (PCIe 6.x 7.9.26)
 * through config space for QUERY_RESP, and drives scrub, stream-loss reports and the
 * T-bit policy (through which the model reads MSI-X lock and stream state) over the
 * model's internal port, the one a host never gets.
 */

import { walkExtCapabilities } from '../pci/config-space.ts';
import type { InternalPort } from '../pci/ports.ts';
import {
  PCI_EXT_CAP_ID_IDE,
  PCI_IDE_CAP,
  PCI_IDE_CAP_LINK,
  PCI_IDE_CAP_LINK_TC_NUM_SHIFT,
  PCI_IDE_CAP_SEL_NUM_SHIFT,
  PCI_IDE_CAP_SELECTIVE,
  PCI_IDE_LINK_BLOCK_SIZE,
  PCI_IDE_SEL_BLOCK_SIZE,
} from '../pci/regs.ts';
import type { DsmHardware } from './hardware.ts';

/** The function hosting the DSM and the IDE capability. */
const DSM_FN = 0;

/**
 * IDE Capability, IDE Control, every Link IDE block and every Selective IDE block of
 * `fn`'s IDE Extended Capability, as QUERY_RESP carries them; undefined without one.
 */
export function readIdeRegisterBlock(
  device: Pick<InternalPort, 'configRead'>,
  fn = DSM_FN,
): number[] | undefined {
  const read = (off: number, size: number) => device.configRead(fn, off, size);
  const ide = walkExtCapabilities(read).find((c) => c.id === PCI_EXT_CAP_ID_IDE);
  if (ide === undefined) return undefined;
  const cap = read(ide.offset + PCI_IDE_CAP, 4);
  const link = cap & PCI_IDE_CAP_LINK ? ((cap >>> PCI_IDE_CAP_LINK_TC_NUM_SHIFT) & 0x7) + 1 : 0;
  const sel = cap & PCI_IDE_CAP_SELECTIVE ? ((cap >>> PCI_IDE_CAP_SEL_NUM_SHIFT) & 0xff) + 1 : 0;
  let end = ide.offset + PCI_IDE_CAP + 8 + link * PCI_IDE_LINK_BLOCK_SIZE;
  for (let i = 0; i < sel; i++) {
    // Selective IDE Stream Capability bits 3:0: number of address association blocks.
    end += PCI_IDE_SEL_BLOCK_SIZE(read(end, 4) & 0xf);
  }
  const out: number[] = [];
  for (let off = ide.offset + PCI_IDE_CAP; off < end; off += 4) out.push(read(off, 4) >>> 0);
  return out;
}

/** Adapts the device model's internal port to what the DSM needs. */
export function pciDeviceHardware(device: InternalPort): DsmHardware {
  return {
    tdiFunctions: () => device.tdis(),
    securityView: (fn) => (device.hasFunction(fn) ? device.securityView(fn) : undefined),
    onSecurityEvent: (l) => device.onSecurityEvent(l),
    // A device without IDE has no stream to show; the DSM's own state still tracks keys.
    streamLeftSecure: (id) => {
      if (device.hasIde) device.streamLeftSecure(id);
    },
    scrub: (fn) => {
      if (device.hasFunction(fn)) device.scrub(fn);
    },
    setTeePolicy: (p) => device.setTeePolicy(p),
    ideRegisters: () => readIdeRegisterBlock(device),
    dsmRequesterId: () => device.requesterId(DSM_FN),
  };
}
