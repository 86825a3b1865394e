/** TPH Requester capability (PCIe 7.9.13), No ST Mode only, no ST table. */
import { type CapAllocator, type ConfigSpace, defineReg, rd } from '../config-space.ts';
import {
  PCI_EXT_CAP_ID_TPH,
  PCI_TPH_BASE_SIZEOF,
  PCI_TPH_CAP,
  PCI_TPH_CAP_NO_ST,
  PCI_TPH_CTRL,
  PCI_TPH_CTRL_MODE_SEL_MASK,
  PCI_TPH_CTRL_REQ_EN_MASK,
} from '../regs.ts';
import type { FnContext } from '../state.ts';
import { writeAndWatch } from './watch.ts';

export function installTph(cs: ConfigSpace, alloc: CapAllocator): number {
  const off = alloc.addExt(PCI_EXT_CAP_ID_TPH, 1, PCI_TPH_BASE_SIZEOF);
  defineReg(cs, off + PCI_TPH_CAP, 4, PCI_TPH_CAP_NO_ST);
  defineReg(cs, off + PCI_TPH_CTRL, 4, 0, PCI_TPH_CTRL_MODE_SEL_MASK | PCI_TPH_CTRL_REQ_EN_MASK);
  return off;
}

export const tphControl = (cs: ConfigSpace, off: number): number =>
  rd(cs.bytes, off + PCI_TPH_CTRL, 4);

export function tphWrite(ctx: FnContext, off: number, size: number, value: number): void {
  writeAndWatch(ctx, off, size, value, 'TPH', [[ctx.fs.caps.tph! + PCI_TPH_CTRL, 4]]);
}
