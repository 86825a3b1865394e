/** Address Translation Services capability (PCIe 10.5.1): ATS Enable and the STU. */
import { type CapAllocator, type ConfigSpace, defineReg } from '../config-space.ts';
import {
  PCI_ATS_CAP,
  PCI_ATS_CAP_PAGE_ALIGNED,
  PCI_ATS_CAP_QDEP_MASK,
  PCI_ATS_CTRL,
  PCI_ATS_CTRL_ENABLE,
  PCI_ATS_CTRL_STU_MASK,
  PCI_EXT_CAP_ATS_SIZEOF,
  PCI_EXT_CAP_ID_ATS,
} from '../regs.ts';
import type { FnContext } from '../state.ts';
import { writeAndWatch } from './watch.ts';

export function installAts(
  cs: ConfigSpace,
  alloc: CapAllocator,
  o: { invalidateQueueDepth?: number },
): number {
  const off = alloc.addExt(PCI_EXT_CAP_ID_ATS, 1, PCI_EXT_CAP_ATS_SIZEOF);
  const qdep = (o.invalidateQueueDepth ?? 0) & PCI_ATS_CAP_QDEP_MASK; // 0 encodes 32
  defineReg(cs, off + PCI_ATS_CAP, 2, qdep | PCI_ATS_CAP_PAGE_ALIGNED);
  defineReg(cs, off + PCI_ATS_CTRL, 2, 0, PCI_ATS_CTRL_ENABLE | PCI_ATS_CTRL_STU_MASK);
  return off;
}

export const atsEnabled = (cs: ConfigSpace, off: number): boolean =>
  !!((cs.bytes[off + PCI_ATS_CTRL + 1] << 8) & PCI_ATS_CTRL_ENABLE);

export function atsWrite(ctx: FnContext, off: number, size: number, value: number): void {
  writeAndWatch(ctx, off, size, value, 'ATS', [[ctx.fs.caps.ats! + PCI_ATS_CTRL, 2]]);
}
