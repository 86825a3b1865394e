/**
 * Enumeration as platform firmware (or a host's PCI core) does it, through config writes
 * only (PCIe 7.5.1.2.1 Base Address Registers, 7.5.1.1.3 Command, 9.3.3 SR-IOV): BAR
 * addresses, Memory Space / Bus Master Enable, NumVFs, VF BARs and VF Enable.
 */
import { walkExtCapabilities } from './config-space.ts';
import type { PciDevice } from './device.ts';
import {
  PCI_BASE_ADDRESS_0,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_EXT_CAP_ID_SRIOV,
  PCI_SRIOV_BAR,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_MSE,
  PCI_SRIOV_CTRL_VFE,
  PCI_SRIOV_NUM_VF,
} from './regs.ts';

/** Size-aligned bump allocator for BAR addresses. */
function allocator(start: bigint) {
  let cursor = start;
  return (size: bigint): bigint => {
    const a = ((cursor + size - 1n) / size) * size;
    cursor = a + size;
    return a;
  };
}

/** Where the bridge above the device forwards memory: BARs are placed from these bases up. */
export interface MmioWindow {
  mmio32: bigint;
  mmio64: bigint;
}

export const DEFAULT_MMIO_WINDOW: MmioWindow = { mmio32: 0xe000_0000n, mmio64: 0x40_0000_0000n };

/**
 * Enumerates the device as platform firmware would, through config writes only: every PF
 * memory BAR (small ones from the window's 32-bit base, 64-bit ones of 256 MiB and more
 * from its 64-bit base), Memory Space and Bus Master Enable, then SR-IOV with TotalVFs VFs,
 * their VF BARs, VF Memory Space Enable and each VF's Bus Master Enable.
 * @returns the bus address of every memory BAR, keyed `${fn}:${barIndex}` (VFs by their own
 *   routing id). Throws nothing itself; config writes go to the device model.
 */
export function enumerateDevice(
  device: PciDevice,
  window: MmioWindow = DEFAULT_MMIO_WINDOW,
): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const alloc = allocator(window.mmio32);
  const alloc64 = allocator(window.mmio64);
  const writeBar = (fn: number, reg: number, addr: bigint, is64: boolean) => {
    device.configWrite(fn, reg, 4, Number(addr & 0xffff_fff0n));
    if (is64) device.configWrite(fn, reg + 4, 4, Number(addr >> 32n));
  };
  const place = (size: bigint, is64: boolean) =>
    is64 && size >= 1n << 28n ? alloc64(size) : alloc(size);
  for (const f of device.profile.functions) {
    for (const b of f.bars) {
      if (b.io) continue;
      const a = place(b.size, !!b.is64);
      writeBar(f.fn, PCI_BASE_ADDRESS_0 + 4 * b.index, a, !!b.is64);
      out.set(`${f.fn}:${b.index}`, a);
    }
    const cmd = device.configRead(f.fn, PCI_COMMAND, 2);
    device.configWrite(f.fn, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    if (!f.sriov) continue;
    const sriov = walkExtCapabilities((o, s) => device.configRead(f.fn, o, s)).find(
      (c) => c.id === PCI_EXT_CAP_ID_SRIOV,
    );
    if (!sriov) continue;
    const n = f.sriov.totalVfs;
    device.configWrite(f.fn, sriov.offset + PCI_SRIOV_NUM_VF, 2, n);
    for (const b of f.sriov.vf.bars) {
      if (b.io) continue;
      const a = place(b.size * BigInt(n), !!b.is64);
      writeBar(f.fn, sriov.offset + PCI_SRIOV_BAR + 4 * b.index, a, !!b.is64);
      for (let i = 0; i < n; i++) {
        const vf = f.fn + f.sriov.firstVfOffset + i * f.sriov.vfStride;
        out.set(`${vf}:${b.index}`, a + b.size * BigInt(i));
      }
    }
    device.configWrite(
      f.fn,
      sriov.offset + PCI_SRIOV_CTRL,
      2,
      PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE,
    );
    const pfs = new Set(device.profile.functions.map((p) => p.fn));
    for (const vf of device.functions()) {
      if (pfs.has(vf)) continue;
      const c = device.configRead(vf, PCI_COMMAND, 2);
      device.configWrite(vf, PCI_COMMAND, 2, c | PCI_COMMAND_MASTER);
    }
  }
  return out;
}
