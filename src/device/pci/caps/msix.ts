/**
 * MSI-X capability (PCIe 7.7.2, 6.1.4.2). The table and the Pending Bit Array live in a
 * BAR, in the function's BAR memory; the table resets to every vector masked. TDISP's
 * LOCK_INTERFACE may lock them (LOCK_MSIX): while the DSM's policy says so, a change of
 * Message Control, or a T=0 write into the table or PBA, emits MSIX_LOCKED_CHANGE while
 * the write itself still completes (a T=1 write in RUN is the TVM programming its own
 * vectors: device.ts mmioWrite).
 */

import {
  type CapAllocator,
  type ConfigSpace,
  defineReg,
  maskedWrite,
  rd,
} from '../config-space.ts';
import { memWrite, type SparseMemory } from '../memory.ts';
import type { MsixProfile } from '../profile.ts';
import {
  PCI_CAP_ID_MSIX,
  PCI_CAP_MSIX_SIZEOF,
  PCI_MSIX_ENTRY_CTRL_MASKBIT,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSIX_PBA,
  PCI_MSIX_TABLE,
} from '../regs.ts';
import type { FnContext } from '../state.ts';

export interface MsixLayout {
  offset: number;
  vectors: number;
  tableBar: number;
  tableOffset: number;
  pbaBar: number;
  pbaOffset: number;
}

export function installMsix(cs: ConfigSpace, alloc: CapAllocator, p: MsixProfile): MsixLayout {
  const off = alloc.addStd(PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
  defineReg(
    cs,
    off + PCI_MSIX_FLAGS,
    2,
    p.vectors - 1,
    PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL,
  );
  defineReg(cs, off + PCI_MSIX_TABLE, 4, (p.table.offset | p.table.bar) >>> 0);
  defineReg(cs, off + PCI_MSIX_PBA, 4, (p.pba.offset | p.pba.bar) >>> 0);
  return {
    offset: off,
    vectors: p.vectors,
    tableBar: p.table.bar,
    tableOffset: p.table.offset,
    pbaBar: p.pba.bar,
    pbaOffset: p.pba.offset,
  };
}

export const tableBytes = (m: MsixLayout): number => m.vectors * PCI_MSIX_ENTRY_SIZE;
export const pbaBytes = (m: MsixLayout): number => Math.ceil(m.vectors / 64) * 8;

/** Writes the reset table (all vectors masked) into BAR memory; the PBA reads zero. */
export function resetMsixTable(m: MsixLayout, memory: SparseMemory[]): void {
  const t = new Uint8Array(tableBytes(m));
  for (let v = 0; v < m.vectors; v++) {
    t[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
  }
  memWrite(memory[m.tableBar], m.tableOffset, t);
  memWrite(memory[m.pbaBar], m.pbaOffset, new Uint8Array(pbaBytes(m)));
}

const overlaps = (a: number, alen: number, b: number, blen: number): boolean =>
  a < b + blen && b < a + alen;

/** Which MSI-X structure an MMIO access touches, if any. */
export function msixRegion(
  m: MsixLayout,
  bar: number,
  offset: number,
  length: number,
): 'table' | 'pba' | undefined {
  if (bar === m.tableBar && overlaps(offset, length, m.tableOffset, tableBytes(m))) return 'table';
  if (bar === m.pbaBar && overlaps(offset, length, m.pbaOffset, pbaBytes(m))) return 'pba';
  return undefined;
}

export function msixWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const { fs, dev } = ctx;
  const reg = fs.caps.msix!.offset + PCI_MSIX_FLAGS;
  const before = rd(fs.cs.bytes, reg, 2);
  maskedWrite(fs.cs, off, size, value);
  if (dev.msixLocked(fs.fn) && rd(fs.cs.bytes, reg, 2) !== before) {
    dev.emit(fs.fn, { kind: 'MSIX_LOCKED_CHANGE' });
  }
}
