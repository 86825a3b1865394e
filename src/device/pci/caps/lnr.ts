/** Lightweight Notification Requester capability (PCIe 7.9.11): LNR Enable, CLS, Registration Limit. */
import { type CapAllocator, type ConfigSpace, defineReg, rd } from '../config-space.ts';
import {
  PCI_EXT_CAP_ID_LNR,
  PCI_EXT_CAP_LNR_SIZEOF,
  PCI_LNR_CAP,
  PCI_LNR_CAP_LNR64,
  PCI_LNR_CTRL,
  PCI_LNR_CTRL_CLS,
  PCI_LNR_CTRL_ENABLE,
  PCI_LNR_CTRL_LIMIT_MASK,
} from '../regs.ts';
import type { FnContext } from '../state.ts';
import { writeAndWatch } from './watch.ts';

export function installLnr(cs: ConfigSpace, alloc: CapAllocator): number {
  const off = alloc.addExt(PCI_EXT_CAP_ID_LNR, 1, PCI_EXT_CAP_LNR_SIZEOF);
  defineReg(cs, off + PCI_LNR_CAP, 2, PCI_LNR_CAP_LNR64 | (4 << 8));
  defineReg(
    cs,
    off + PCI_LNR_CTRL,
    2,
    0,
    PCI_LNR_CTRL_ENABLE | PCI_LNR_CTRL_CLS | PCI_LNR_CTRL_LIMIT_MASK,
  );
  return off;
}

export const lnrControl = (cs: ConfigSpace, off: number): number =>
  rd(cs.bytes, off + PCI_LNR_CTRL, 2);

export function lnrWrite(ctx: FnContext, off: number, size: number, value: number): void {
  writeAndWatch(ctx, off, size, value, 'LNR', [[ctx.fs.caps.lnr! + PCI_LNR_CTRL, 2]]);
}
