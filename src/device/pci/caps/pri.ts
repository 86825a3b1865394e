/**
 * Page Request Interface capability (PCIe 10.5.2): PRI Enable and the Outstanding Page
 * Request Allocation. Reset is a command bit that reads 0 (nothing queued to reset here).
 */
import { type CapAllocator, type ConfigSpace, defineReg } from '../config-space.ts';
import {
  PCI_EXT_CAP_ID_PRI,
  PCI_EXT_CAP_PRI_SIZEOF,
  PCI_PRI_ALLOC_REQ,
  PCI_PRI_CTRL,
  PCI_PRI_CTRL_ENABLE,
  PCI_PRI_MAX_REQ,
  PCI_PRI_STATUS,
  PCI_PRI_STATUS_RF,
  PCI_PRI_STATUS_STOPPED,
  PCI_PRI_STATUS_UPRGI,
} from '../regs.ts';
import type { FnContext } from '../state.ts';
import { writeAndWatch } from './watch.ts';

export function installPri(
  cs: ConfigSpace,
  alloc: CapAllocator,
  o: { outstandingRequests?: number },
): number {
  const off = alloc.addExt(PCI_EXT_CAP_ID_PRI, 1, PCI_EXT_CAP_PRI_SIZEOF);
  defineReg(cs, off + PCI_PRI_CTRL, 2, 0, PCI_PRI_CTRL_ENABLE);
  defineReg(
    cs,
    off + PCI_PRI_STATUS,
    2,
    PCI_PRI_STATUS_STOPPED,
    0,
    PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI,
  );
  defineReg(cs, off + PCI_PRI_MAX_REQ, 4, o.outstandingRequests ?? 32);
  defineReg(cs, off + PCI_PRI_ALLOC_REQ, 4, 0, 0xffffffff);
  return off;
}

export const priEnabled = (cs: ConfigSpace, off: number): boolean =>
  !!(cs.bytes[off + PCI_PRI_CTRL] & PCI_PRI_CTRL_ENABLE);

export function priWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const base = ctx.fs.caps.pri!;
  writeAndWatch(ctx, off, size, value, 'PRI', [
    [base + PCI_PRI_CTRL, 2],
    [base + PCI_PRI_ALLOC_REQ, 4],
  ]);
}
