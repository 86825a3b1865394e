/**
 * Single Root I/O Virtualization capability (PCIe 9.3.3). VF Enable makes NumVFs VFs
 * appear with routing ids PF + First VF Offset + (n-1) * VF Stride, each with its own
 * config space; their memory is placed by the VF BARs here (VF n's BAR i starts at
 * VF BAR i + (n-1) * size) and enabled by VF Memory Space Enable. NumVFs is read-only
 * while VF Enable is set, and ignores values above TotalVFs.
 *
 * ERROR triggers: any change here is CAPABILITY_CHANGE SRIOV on the PF; VF Enable
 * cleared also hits every VF that disappears; VF MSE cleared is MSE_CLEAR on every VF;
 * a write to a VF BAR is BAR_WRITE on every VF.
 */
import { type BarTable, barOfSlot, barTable, defineBars } from '../bar.ts';
import {
  type CapAllocator,
  type ConfigSpace,
  defineReg,
  maskedWrite,
  rd,
  wr,
} from '../config-space.ts';
import type { SriovProfile } from '../profile.ts';
import {
  PCI_EXT_CAP_ID_SRIOV,
  PCI_EXT_CAP_SRIOV_SIZEOF,
  PCI_SRIOV_BAR,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_ARI,
  PCI_SRIOV_CTRL_MSE,
  PCI_SRIOV_CTRL_VFE,
  PCI_SRIOV_FUNC_LINK,
  PCI_SRIOV_INITIAL_VF,
  PCI_SRIOV_NUM_BARS,
  PCI_SRIOV_NUM_VF,
  PCI_SRIOV_SUP_PGSIZE,
  PCI_SRIOV_SYS_PGSIZE,
  PCI_SRIOV_TOTAL_VF,
  PCI_SRIOV_VF_DID,
  PCI_SRIOV_VF_OFFSET,
  PCI_SRIOV_VF_STRIDE,
} from '../regs.ts';
import type { FnContext } from '../state.ts';

const SRIOV_CAP_VERSION = 1;
/** 4K, 8K, 64K, 256K, 1M, 4M: the page sizes the SR-IOV spec asks every PF to support. */
const SUPPORTED_PAGE_SIZES = 0x553;

export interface SriovLayout {
  offset: number;
  totalVfs: number;
  firstVfOffset: number;
  vfStride: number;
  vfBars: BarTable;
}

export function installSriov(
  cs: ConfigSpace,
  alloc: CapAllocator,
  p: SriovProfile,
  pfFn: number,
): SriovLayout {
  const off = alloc.addExt(PCI_EXT_CAP_ID_SRIOV, SRIOV_CAP_VERSION, PCI_EXT_CAP_SRIOV_SIZEOF);
  defineReg(
    cs,
    off + PCI_SRIOV_CTRL,
    2,
    0,
    PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI,
  );
  defineReg(cs, off + PCI_SRIOV_INITIAL_VF, 2, p.initialVfs ?? p.totalVfs);
  defineReg(cs, off + PCI_SRIOV_TOTAL_VF, 2, p.totalVfs);
  defineReg(cs, off + PCI_SRIOV_NUM_VF, 2, 0, 0xffff);
  defineReg(cs, off + PCI_SRIOV_FUNC_LINK, 1, pfFn);
  defineReg(cs, off + PCI_SRIOV_VF_OFFSET, 2, p.firstVfOffset);
  defineReg(cs, off + PCI_SRIOV_VF_STRIDE, 2, p.vfStride);
  defineReg(cs, off + PCI_SRIOV_VF_DID, 2, p.vfDeviceId);
  defineReg(cs, off + PCI_SRIOV_SUP_PGSIZE, 4, SUPPORTED_PAGE_SIZES);
  defineReg(cs, off + PCI_SRIOV_SYS_PGSIZE, 4, 1, SUPPORTED_PAGE_SIZES);
  const vfBars = barTable(p.vf.bars);
  defineBars(cs, off + PCI_SRIOV_BAR, vfBars);
  return {
    offset: off,
    totalVfs: p.totalVfs,
    firstVfOffset: p.firstVfOffset,
    vfStride: p.vfStride,
    vfBars,
  };
}

export interface SriovControl {
  vfEnable: boolean;
  vfMse: boolean;
  numVfs: number;
}

export function sriovControl(cs: ConfigSpace, l: SriovLayout): SriovControl {
  const ctrl = rd(cs.bytes, l.offset + PCI_SRIOV_CTRL, 2);
  return {
    vfEnable: !!(ctrl & PCI_SRIOV_CTRL_VFE),
    vfMse: !!(ctrl & PCI_SRIOV_CTRL_MSE),
    numVfs: rd(cs.bytes, l.offset + PCI_SRIOV_NUM_VF, 2),
  };
}

/** Routing-id function number of VF n (1-based). */
export function vfFunction(pfFn: number, l: SriovLayout, n: number): number {
  return pfFn + l.firstVfOffset + (n - 1) * l.vfStride;
}

export function sriovWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const { fs, dev } = ctx;
  const l = fs.caps.sriov!;
  const reg = off & ~3;
  const regBefore = rd(fs.cs.bytes, reg, 4);
  const before = sriovControl(fs.cs, l);
  maskedWrite(fs.cs, off, size, value);
  const numReg = l.offset + PCI_SRIOV_NUM_VF;
  const num = rd(fs.cs.bytes, numReg, 2);
  if (num !== before.numVfs && (before.vfEnable || num > l.totalVfs)) {
    wr(fs.cs.bytes, numReg, 2, before.numVfs);
  }
  if (rd(fs.cs.bytes, reg, 4) !== regBefore)
    dev.emit(fs.fn, { kind: 'CAPABILITY_CHANGE', capability: 'SRIOV' });

  const after = sriovControl(fs.cs, l);
  const vfs = dev.vfsOf(fs);
  if (before.vfEnable && !after.vfEnable) {
    for (const vf of vfs) dev.emit(vf.fn, { kind: 'CAPABILITY_CHANGE', capability: 'SRIOV' });
    dev.setVfEnable(fs, false);
  } else if (!before.vfEnable && after.vfEnable) {
    dev.setVfEnable(fs, true);
  } else if (before.vfMse && !after.vfMse) {
    for (const vf of vfs) dev.emit(vf.fn, { kind: 'MSE_CLEAR' });
  }
  const barBase = l.offset + PCI_SRIOV_BAR;
  if (off >= barBase && off < barBase + PCI_SRIOV_NUM_BARS * 4) {
    const bar = barOfSlot(l.vfBars, (off - barBase) >> 2);
    if (bar !== undefined) for (const vf of vfs) dev.emit(vf.fn, { kind: 'BAR_WRITE', bar });
  }
}
