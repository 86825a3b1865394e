/**
 * Type 0 configuration header (PCIe 7.5.1.1-7.5.1.2): ids, Command, Status, class code,
 * header type, BIST, BARs, Expansion ROM, capability pointer. A VF's header follows
 * SR-IOV 9.3.4: Vendor/Device ID read FFFFh, Memory Space Enable and the BARs are
 * read-only zero (VF memory is enabled and placed through the PF's SR-IOV capability).
 *
 * ERROR triggers detected here (TDISP, SYSTEM.md section 2): Memory Space Enable or Bus
 * Master Enable cleared, any write to an implemented BAR, the Expansion ROM BAR or BIST.
 */

import type { BarTable } from './bar.ts';
import { barOfSlot, defineBars, defineRom } from './bar.ts';
import { type ConfigSpace, defineReg, maskedWrite, rd } from './config-space.ts';
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_5,
  PCI_BIST,
  PCI_BIST_CAPABLE,
  PCI_BIST_START,
  PCI_CACHE_LINE_SIZE,
  PCI_CLASS_PROG,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_COMMAND_PARITY,
  PCI_COMMAND_SERR,
  PCI_DEVICE_ID,
  PCI_HEADER_TYPE,
  PCI_HEADER_TYPE_MFD,
  PCI_INTERRUPT_LINE,
  PCI_REVISION_ID,
  PCI_ROM_ADDRESS,
  PCI_STATUS,
  PCI_STATUS_DETECTED_PARITY,
  PCI_STATUS_PARITY,
  PCI_STATUS_REC_MASTER_ABORT,
  PCI_STATUS_REC_TARGET_ABORT,
  PCI_STATUS_SIG_SYSTEM_ERROR,
  PCI_STATUS_SIG_TARGET_ABORT,
  PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
} from './regs.ts';
import type { FnContext } from './state.ts';

export interface HeaderOptions {
  vendorId: number;
  deviceId: number;
  revisionId: number;
  classCode: number;
  subsystemVendorId: number;
  subsystemId: number;
  multiFunction: boolean;
  bist: boolean;
  vf: boolean;
  bars: BarTable;
  romSize?: bigint;
}

const STATUS_W1C =
  PCI_STATUS_PARITY |
  PCI_STATUS_SIG_TARGET_ABORT |
  PCI_STATUS_REC_TARGET_ABORT |
  PCI_STATUS_REC_MASTER_ABORT |
  PCI_STATUS_SIG_SYSTEM_ERROR |
  PCI_STATUS_DETECTED_PARITY;

export function installHeader(cs: ConfigSpace, o: HeaderOptions): void {
  defineReg(cs, PCI_VENDOR_ID, 2, o.vf ? 0xffff : o.vendorId);
  defineReg(cs, PCI_DEVICE_ID, 2, o.vf ? 0xffff : o.deviceId);
  const cmdRw =
    (o.vf ? 0 : PCI_COMMAND_MEMORY) |
    PCI_COMMAND_MASTER |
    PCI_COMMAND_PARITY |
    PCI_COMMAND_SERR |
    (o.vf ? 0 : PCI_COMMAND_INTX_DISABLE);
  defineReg(cs, PCI_COMMAND, 2, 0, cmdRw);
  defineReg(cs, PCI_STATUS, 2, rd(cs.bytes, PCI_STATUS, 2), 0, STATUS_W1C);
  defineReg(cs, PCI_REVISION_ID, 1, o.revisionId);
  defineReg(cs, PCI_CLASS_PROG, 3, o.classCode);
  defineReg(cs, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
  defineReg(cs, PCI_HEADER_TYPE, 1, o.multiFunction ? PCI_HEADER_TYPE_MFD : 0);
  defineReg(cs, PCI_BIST, 1, o.bist ? PCI_BIST_CAPABLE : 0, o.bist ? PCI_BIST_START : 0);
  if (!o.vf) defineBars(cs, PCI_BASE_ADDRESS_0, o.bars);
  defineReg(cs, PCI_SUBSYSTEM_VENDOR_ID, 2, o.subsystemVendorId);
  defineReg(cs, PCI_SUBSYSTEM_ID, 2, o.subsystemId);
  if (o.romSize !== undefined && !o.vf) defineRom(cs, PCI_ROM_ADDRESS, o.romSize);
  defineReg(cs, PCI_INTERRUPT_LINE, 1, 0, o.vf ? 0 : 0xff);
}

/** Host write into the first 64 bytes. */
export function headerWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const { fs, dev } = ctx;
  const cs = fs.cs;
  const cmdBefore = rd(cs.bytes, PCI_COMMAND, 2);
  maskedWrite(cs, off, size, value);
  const touches = (reg: number, len: number): boolean => off < reg + len && reg < off + size;

  if (touches(PCI_COMMAND, 2)) {
    const cmd = rd(cs.bytes, PCI_COMMAND, 2);
    const cleared = cmdBefore & ~cmd;
    if (cleared & PCI_COMMAND_MEMORY) dev.emit(fs.fn, { kind: 'MSE_CLEAR' });
    if (cleared & PCI_COMMAND_MASTER) dev.emit(fs.fn, { kind: 'BME_CLEAR' });
  }
  if (touches(PCI_BIST, 1) && fs.bist) {
    // BIST completes at once with code 0: Start reads back clear.
    if (cs.bytes[PCI_BIST] & PCI_BIST_START) cs.bytes[PCI_BIST] = PCI_BIST_CAPABLE;
    dev.emit(fs.fn, { kind: 'BIST_WRITE' });
  }
  if (off >= PCI_BASE_ADDRESS_0 && off <= PCI_BASE_ADDRESS_5 + 3 && fs.kind === 'pf') {
    const bar = barOfSlot(fs.bars, (off - PCI_BASE_ADDRESS_0) >> 2);
    if (bar !== undefined) dev.emit(fs.fn, { kind: 'BAR_WRITE', bar });
  }
  if (touches(PCI_ROM_ADDRESS, 4) && fs.romSize !== undefined && fs.kind === 'pf') {
    dev.emit(fs.fn, { kind: 'EXPANSION_ROM_WRITE' });
  }
}

/** Memory Space Enable as the data path sees it (a VF's comes from its PF). */
export function commandBits(cs: ConfigSpace): { mse: boolean; bme: boolean } {
  const cmd = rd(cs.bytes, PCI_COMMAND, 2);
  return { mse: !!(cmd & PCI_COMMAND_MEMORY), bme: !!(cmd & PCI_COMMAND_MASTER) };
}

/** Bus Master Enable alone (the per-DMA check: no object built). */
export function busMaster(cs: ConfigSpace): boolean {
  return (cs.bytes[PCI_COMMAND] & PCI_COMMAND_MASTER) !== 0;
}
