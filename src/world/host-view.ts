/**
 * What the host knows and does about a function without asking the device's security view
 * (PCIe 7.5.1.2.1 BARs, 7.5.1.1.3 Command, 9.3.3.3 SR-IOV Control): the BARs it assigned at
 * enumeration, and where a function's Memory Space Enable lives.
 */
import { formatBdf } from '../device/pci/bdf.ts';
import { walkExtCapabilities } from '../device/pci/config-space.ts';
import type { PciDevice } from '../device/pci/device.ts';
import type { DeviceProfile, FunctionProfile } from '../device/pci/profile.ts';
import {
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  PCI_EXT_CAP_ID_SRIOV,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_MSE,
} from '../device/pci/regs.ts';
import type { AssignedBar } from '../wire/tdisp/report-ranges.ts';
import { ScenarioError } from './errors.ts';

/** The PF whose SR-IOV capability creates VF `fn`, or undefined when `fn` is no VF. */
function owningPf(profile: DeviceProfile, fn: number): FunctionProfile | undefined {
  return profile.functions.find(
    (f) =>
      f.sriov !== undefined &&
      fn >= f.fn + f.sriov.firstVfOffset &&
      (fn - f.fn - f.sriov.firstVfOffset) % f.sriov.vfStride === 0 &&
      (fn - f.fn - f.sriov.firstVfOffset) / f.sriov.vfStride < f.sriov.totalVfs,
  );
}

/**
 * The memory BARs of `fn` as enumeration assigned them (`addresses` from enumerateDevice)
 * with the profile's sizes: what the host reports to the TSM, never read back from the device.
 */
export function assignedBars(
  profile: DeviceProfile,
  addresses: ReadonlyMap<string, bigint>,
  fn: number,
): AssignedBar[] {
  const pf = profile.functions.find((f) => f.fn === fn);
  const bars = pf ? pf.bars : (owningPf(profile, fn)?.sriov?.vf.bars ?? []);
  const out: AssignedBar[] = [];
  for (const b of bars) {
    const address = addresses.get(`${fn}:${b.index}`);
    if (!b.io && address !== undefined) out.push({ index: b.index, address, size: b.size });
  }
  return out;
}

export interface MemorySpaceEnable {
  /** The register, for the trace. */
  where: string;
  /** Its value when found. */
  value: number;
  bit: number;
  write(v: number): void;
}

/**
 * Where Memory Space Enable of `fn` lives: a PF's own Command register, or for a VF (whose
 * Command.MSE is read-only zero, PCIe 9.3.4.1.1) VF MSE in the SR-IOV Control register of
 * the PF that owns it.
 * @throws ScenarioError when `fn` is neither a function of the profile nor one of its VFs.
 */
export function memorySpaceEnable(device: PciDevice, fn: number): MemorySpaceEnable {
  const profile = device.profile;
  if (profile.functions.some((f) => f.fn === fn)) {
    return {
      where: `${formatBdf(device.requesterId(fn))} COMMAND`,
      value: device.configRead(fn, PCI_COMMAND, 2),
      bit: PCI_COMMAND_MEMORY,
      write: (v) => device.configWrite(fn, PCI_COMMAND, 2, v),
    };
  }
  const pf = owningPf(profile, fn);
  const sriov =
    pf &&
    walkExtCapabilities((o, n) => device.configRead(pf.fn, o, n)).find(
      (c) => c.id === PCI_EXT_CAP_ID_SRIOV,
    );
  if (!pf || !sriov) throw new ScenarioError(`function ${fn} is no PF or VF of ${profile.name}`);
  const at = sriov.offset + PCI_SRIOV_CTRL;
  return {
    where: `${formatBdf(device.requesterId(pf.fn))} SR-IOV Control (VF MSE)`,
    value: device.configRead(pf.fn, at, 2),
    bit: PCI_SRIOV_CTRL_MSE,
    write: (v) => device.configWrite(pf.fn, at, 2, v),
  };
}
