/**
 * Resizable BAR capability (PCIe 7.8.6). Each entry lists the sizes its BAR supports
 * (bit n+4 of the capability register: 2^(n+20) bytes) and the BAR Size in use
 * (log2(size) - 20). Writing a supported size resizes the BAR: the BAR register's
 * writable address bits follow, and the BAR's contents are dropped (the spec leaves
 * them undefined). Any size change is CAPABILITY_CHANGE RESIZABLE_BAR.
 */
import { defineBar } from '../bar.ts';
import {
  type CapAllocator,
  type ConfigSpace,
  defineReg,
  maskedWrite,
  rd,
  wr,
} from '../config-space.ts';
import { memZero } from '../memory.ts';
import {
  PCI_BASE_ADDRESS_0,
  PCI_EXT_CAP_ID_REBAR,
  PCI_REBAR_CAP,
  PCI_REBAR_CTRL,
  PCI_REBAR_CTRL_BAR_SHIFT,
  PCI_REBAR_CTRL_BAR_SIZE,
  PCI_REBAR_CTRL_NBAR_SHIFT,
} from '../regs.ts';
import type { FnContext } from '../state.ts';
import { resetMsixTable } from './msix.ts';

export interface RebarLayout {
  offset: number;
  entries: Array<{ bar: number; sizes: number }>;
}

const log2 = (v: bigint): number => v.toString(2).length - 1;

export function installRebar(
  cs: ConfigSpace,
  alloc: CapAllocator,
  entries: Array<{ bar: number; sizes: bigint[]; current: bigint }>,
): RebarLayout {
  const off = alloc.addExt(PCI_EXT_CAP_ID_REBAR, 1, 4 + 8 * entries.length);
  const layout: RebarLayout = { offset: off, entries: [] };
  entries.forEach((e, i) => {
    let sizes = 0;
    for (const s of e.sizes) sizes |= 1 << (log2(s) - 20 + 4);
    const ctrl =
      e.bar |
      (i === 0 ? entries.length << PCI_REBAR_CTRL_NBAR_SHIFT : 0) |
      ((log2(e.current) - 20) << 8);
    defineReg(cs, off + PCI_REBAR_CAP + 8 * i, 4, sizes >>> 0);
    defineReg(cs, off + PCI_REBAR_CTRL + 8 * i, 4, ctrl, PCI_REBAR_CTRL_BAR_SIZE);
    layout.entries.push({ bar: e.bar, sizes: sizes >>> 0 });
  });
  return layout;
}

export function rebarWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const { fs, dev } = ctx;
  const l = fs.caps.rebar!;
  const i = Math.floor((off - l.offset - PCI_REBAR_CTRL) / 8);
  const entry = l.entries[i];
  const ctrlOff = l.offset + PCI_REBAR_CTRL + 8 * i;
  const isCtrl = entry !== undefined && (off & ~3) === ctrlOff;
  const before = isCtrl ? rd(fs.cs.bytes, ctrlOff, 4) : 0;
  maskedWrite(fs.cs, off, size, value);
  if (!isCtrl) return;
  const after = rd(fs.cs.bytes, ctrlOff, 4);
  const field = (after & PCI_REBAR_CTRL_BAR_SIZE) >>> PCI_REBAR_CTRL_BAR_SHIFT;
  if (field === (before & PCI_REBAR_CTRL_BAR_SIZE) >>> PCI_REBAR_CTRL_BAR_SHIFT) return;
  if (field > 27 || !(entry.sizes & (1 << (field + 4)))) {
    wr(fs.cs.bytes, ctrlOff, 4, before); // unsupported size: the field keeps its value
    return;
  }
  const bar = fs.bars[entry.bar]!;
  fs.bars[entry.bar] = { ...bar, size: 1n << BigInt(field + 20) };
  // The masks are shared with the reset image (function.ts): the function gets its own first.
  if (fs.cs.wmask === fs.defaults.wmask) fs.cs.wmask = fs.cs.wmask.slice();
  if (fs.cs.w1cmask === fs.defaults.w1cmask) fs.cs.w1cmask = fs.cs.w1cmask.slice();
  defineBar(fs.cs, PCI_BASE_ADDRESS_0, entry.bar, fs.bars[entry.bar]!);
  memZero(fs.memory[entry.bar]);
  // Nothing left for the observer's record of T=0 writes to count in this BAR.
  fs.t0Pages?.delete(entry.bar);
  if (fs.t0Pages?.size === 0) delete fs.t0Pages;
  const m = fs.caps.msix;
  if (m && (m.tableBar === entry.bar || m.pbaBar === entry.bar)) resetMsixTable(m, fs.memory);
  dev.emit(fs.fn, { kind: 'CAPABILITY_CHANGE', capability: 'RESIZABLE_BAR' });
}
