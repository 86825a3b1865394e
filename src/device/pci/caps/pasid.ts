/** Process Address Space ID capability (PCIe 7.8.8): PASID Enable, Execute and Privileged Mode. */
import { type CapAllocator, type ConfigSpace, defineReg } from '../config-space.ts';
import {
  PCI_EXT_CAP_ID_PASID,
  PCI_EXT_CAP_PASID_SIZEOF,
  PCI_PASID_CAP,
  PCI_PASID_CAP_EXEC,
  PCI_PASID_CAP_PRIV,
  PCI_PASID_CTRL,
  PCI_PASID_CTRL_ENABLE,
  PCI_PASID_CTRL_EXEC,
  PCI_PASID_CTRL_PRIV,
} from '../regs.ts';
import type { FnContext } from '../state.ts';
import { writeAndWatch } from './watch.ts';

export function installPasid(
  cs: ConfigSpace,
  alloc: CapAllocator,
  o: { width?: number; exec?: boolean; priv?: boolean },
): number {
  const off = alloc.addExt(PCI_EXT_CAP_ID_PASID, 1, PCI_EXT_CAP_PASID_SIZEOF);
  const cap =
    ((o.width ?? 20) << 8) | (o.exec ? PCI_PASID_CAP_EXEC : 0) | (o.priv ? PCI_PASID_CAP_PRIV : 0);
  defineReg(cs, off + PCI_PASID_CAP, 2, cap);
  const rw =
    PCI_PASID_CTRL_ENABLE | (o.exec ? PCI_PASID_CTRL_EXEC : 0) | (o.priv ? PCI_PASID_CTRL_PRIV : 0);
  defineReg(cs, off + PCI_PASID_CTRL, 2, 0, rw);
  return off;
}

export const pasidEnabled = (cs: ConfigSpace, off: number): boolean =>
  !!(cs.bytes[off + PCI_PASID_CTRL] & PCI_PASID_CTRL_ENABLE);

export function pasidWrite(ctx: FnContext, off: number, size: number, value: number): void {
  writeAndWatch(ctx, off, size, value, 'PASID', [[ctx.fs.caps.pasid! + PCI_PASID_CTRL, 2]]);
}
