/**
 * Power Management capability (PCI Bus Power Management 1.2, PCIe 5.3.1 / 7.5.2.1).
 * D0 and D3hot only (D1/D2 not supported, so writes of 01b/10b leave the state alone).
 * With No_Soft_Reset clear, D3hot -> D0 is an internal reset: the function returns with
 * default config. TDISP counts the transition into that state-losing D3hot as an ERROR
 * trigger, so POWER_STATE_LOSS is emitted on entry, for the function and a PF's VFs.
 */
import {
  type CapAllocator,
  type ConfigSpace,
  defineReg,
  maskedWrite,
  rd,
} from '../config-space.ts';
import {
  PCI_CAP_ID_PM,
  PCI_D0,
  PCI_D3HOT,
  PCI_PM_CTRL,
  PCI_PM_CTRL_NO_SOFT_RESET,
  PCI_PM_CTRL_PME_ENABLE,
  PCI_PM_CTRL_PME_STATUS,
  PCI_PM_CTRL_STATE_MASK,
  PCI_PM_PMC,
  PCI_PM_SIZEOF,
} from '../regs.ts';
import type { FnContext } from '../state.ts';

const PMC_VERSION_1_2 = 0x0003;

export function installPm(cs: ConfigSpace, alloc: CapAllocator, noSoftReset: boolean): number {
  const off = alloc.addStd(PCI_CAP_ID_PM, PCI_PM_SIZEOF);
  defineReg(cs, off + PCI_PM_PMC, 2, PMC_VERSION_1_2);
  defineReg(
    cs,
    off + PCI_PM_CTRL,
    2,
    noSoftReset ? PCI_PM_CTRL_NO_SOFT_RESET : 0,
    PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_ENABLE,
    PCI_PM_CTRL_PME_STATUS,
  );
  return off;
}

export function pmWrite(ctx: FnContext, off: number, size: number, value: number): void {
  const { fs, dev } = ctx;
  const reg = fs.caps.pm! + PCI_PM_CTRL;
  const before = rd(fs.cs.bytes, reg, 2);
  maskedWrite(fs.cs, off, size, value);
  const after = rd(fs.cs.bytes, reg, 2);
  const from = before & PCI_PM_CTRL_STATE_MASK;
  let to = after & PCI_PM_CTRL_STATE_MASK;
  if (to !== PCI_D0 && to !== PCI_D3HOT) {
    // Unsupported state requested: the state field keeps its value.
    to = from;
    fs.cs.bytes[reg] = (fs.cs.bytes[reg] & ~PCI_PM_CTRL_STATE_MASK) | from;
  }
  const keepsState = !!(after & PCI_PM_CTRL_NO_SOFT_RESET);
  if (from === PCI_D0 && to === PCI_D3HOT) {
    fs.power = 'D3hot';
    if (!keepsState) {
      for (const f of [fs, ...dev.vfsOf(fs)])
        dev.emit(f.fn, { kind: 'POWER_STATE_LOSS', to: 'D3hot' });
    }
  } else if (from === PCI_D3HOT && to === PCI_D0) {
    fs.power = 'D0';
    if (!keepsState) dev.powerReset(fs);
  }
}
