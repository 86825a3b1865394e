/**
 * Alternative Routing-ID Interpretation capability (PCIe 7.8.7). Next Function Number
 * chains the functions; the control register enables MFVC/ACS function groups.
 */
import { type CapAllocator, type ConfigSpace, defineReg } from '../config-space.ts';
import {
  PCI_ARI_CAP,
  PCI_ARI_CTRL,
  PCI_ARI_CTRL_ACS,
  PCI_ARI_CTRL_FG,
  PCI_ARI_CTRL_MFVC,
  PCI_EXT_CAP_ARI_SIZEOF,
  PCI_EXT_CAP_ID_ARI,
} from '../regs.ts';
import type { FnContext } from '../state.ts';
import { writeAndWatch } from './watch.ts';

export function installAri(cs: ConfigSpace, alloc: CapAllocator, nextFunction: number): number {
  const off = alloc.addExt(PCI_EXT_CAP_ID_ARI, 1, PCI_EXT_CAP_ARI_SIZEOF);
  defineReg(cs, off + PCI_ARI_CAP, 2, nextFunction << 8);
  defineReg(cs, off + PCI_ARI_CTRL, 2, 0, PCI_ARI_CTRL_MFVC | PCI_ARI_CTRL_ACS | PCI_ARI_CTRL_FG);
  return off;
}

export function ariWrite(ctx: FnContext, off: number, size: number, value: number): void {
  writeAndWatch(ctx, off, size, value, 'ARI', [[ctx.fs.caps.ari! + PCI_ARI_CTRL, 2]]);
}
