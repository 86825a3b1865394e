/**
 * What the untrusted host does to a function's configuration and to its MSI-X table: the
 * ERROR triggers of PCIe 6.x 11.2.6 (SYSTEM.md section 2) by the paths a real host has.
 *
 * - Where VFIO owns the function, a config write goes through VFIO's config region
 *   (VFIO_PCI_CONFIG_REGION: MSE clear, D3hot and Initiate FLR revoke the dma-bufs and,
 *   per switch resetWhileBound, unbind the TDI first or are refused). vfio-pci keeps the
 *   BARs and the Expansion ROM BAR in its virtual config space, so a BAR write there never
 *   reaches the device.
 * - Otherwise, or with `args.via: sysfs`, it is the kernel's own path: the config file under
 *   /sys/bus/pci/devices/<bdf>/ (pci-sysfs.c pci_write_config), which root may write
 *   whoever owns the function, and the PCI core's calls (pci_clear_master,
 *   pci_set_power_state, pci_reset_function, pci_update_resource, pci_iov_update_resource).
 * - The MSI-X table is written by the kernel's MSI code (__pci_write_msi_msg,
 *   pci_msix_write_vector_ctrl): a T=0 memory write into the table's BAR.
 *
 * Every operation takes `args.fn` (default: the step's TDI) and refuses what cannot be done
 * with the errno a kernel would give (ENODEV for a function not on the bus, EINVAL for an
 * access outside config space); none throws for a state of the world.
 */

import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_BASE_ADDRESS_SPACE_IO,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_PM,
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_D3HOT,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_MSIX_ENTRY_CTRL_MASKBIT,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSIX_FLAGS_QSIZE,
  PCI_MSIX_TABLE,
  PCI_MSIX_TABLE_BIR,
  PCI_MSIX_TABLE_OFFSET,
  PCI_PM_CTRL,
  PCI_PM_CTRL_STATE_MASK,
  PCI_SRIOV_BAR,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_MSE,
  PCI_SRIOV_CTRL_VFE,
  PCI_SRIOV_NUM_VF,
  PCI_SRIOV_VF_OFFSET,
  PCI_SRIOV_VF_STRIDE,
} from '../../device/pci/regs.ts';
import type { HostOutcome } from '../../host/outcome.ts';
import { hostErr, hostOk } from '../../host/outcome.ts';
import { bdfOf, pciResetFunction, sriovOf } from '../../host/pci/reset.ts';
import { pciFindCapability, vfioDeviceByRid } from '../../host/vfio/device.ts';
import { vfioConfigWrite, vfioDeviceReset } from '../../host/vfio/reset.ts';
import type { Rid } from '../../platform/ids.ts';
import type { StepEvent } from '../invariants.ts';
import type { World, WorldStep } from '../world.ts';
import { arg, fromHost, refused, type StepResult } from './result.ts';
import type { OpTable } from './types.ts';

/** PCIe configuration space of a function (PCI_CFG_SPACE_EXP_SIZE). */
const CFG_SPACE_SIZE = 4096;

type Size = 1 | 2 | 4;

/** The function a step concerns, as the host's bus shows it. */
interface Target {
  fn: number;
  rid: Rid;
  bdf: string;
}

/** The path a config access takes: VFIO's config region (the open fd) or the kernel's own. */
type Path = { via: 'vfio'; fd: number } | { via: 'sysfs' };

/** args.fn (default the step's TDI) on the host's bus, or why not. */
function target(w: World, step: WorldStep): Target | StepResult {
  const fn = arg(step, 'fn', w.tdiFn(step));
  const rid = w.m.functions().find((r) => (r & 0xff) === fn);
  if (rid === undefined) return refused('ENODEV', `no function ${fn} on the bus`);
  return { fn, rid, bdf: bdfOf(rid) };
}

/** args.via ('vfio' | 'sysfs'); default VFIO where it has the function open. */
function pathOf(w: World, step: WorldStep, t: Target): Path | StepResult {
  const via = step.args?.via;
  const d = vfioDeviceByRid(w.h, t.rid);
  if (via === undefined) return d ? { via: 'vfio', fd: d.fd } : { via: 'sysfs' };
  if (via === 'sysfs') return { via: 'sysfs' };
  if (via !== 'vfio') return refused('EINVAL', `via '${String(via)}': 'vfio' or 'sysfs'`);
  if (!d) return refused('ENODEV', `function ${t.fn} is not opened by VFIO`);
  return { via: 'vfio', fd: d.fd };
}

const isResult = (x: unknown): x is StepResult =>
  typeof x === 'object' && x !== null && 'events' in x && 'ok' in x;

/** Why a config access of `size` bytes at `offset` with `value` cannot be made, if it cannot. */
function accessProblem(offset: number, size: number, value: number): string | undefined {
  if (size !== 1 && size !== 2 && size !== 4) return `size ${size}: 1, 2 or 4`;
  if (!Number.isInteger(offset) || offset < 0 || offset + size > CFG_SPACE_SIZE) {
    return `offset ${offset} (+${size}) outside the 4 KiB config space`;
  }
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * size)) {
    return `value ${value} does not fit ${size} byte(s)`;
  }
  return undefined;
}

/**
 * A config write by the kernel's sysfs path (pci_write_config): an unaligned access is
 * split into naturally aligned pieces, as pci_user_write_config_* need.
 */
function sysfsConfigWrite(
  w: World,
  t: Target,
  offset: number,
  size: Size,
  value: number,
  op = 'pci_write_config',
): HostOutcome {
  const args = { bdf: t.bdf, offset, size, value };
  if (offset % size === 0) {
    w.m.configWrite(t.rid, offset, size, value);
  } else {
    for (let i = 0; i < size; i++)
      w.m.configWrite(t.rid, offset + i, 1, (value >>> (8 * i)) & 0xff);
  }
  return hostOk('pci', op, args, undefined);
}

/** A config write along `path` (BAR and ROM writes through VFIO stay in its virtual config). */
async function configWrite(
  w: World,
  t: Target,
  path: Path,
  offset: number,
  size: Size,
  value: number,
  op?: string,
): Promise<StepResult> {
  const problem = accessProblem(offset, size, value);
  if (problem) {
    const args = { bdf: t.bdf, offset, size, value };
    return fromHost(
      hostErr(path.via === 'vfio' ? 'vfio' : 'pci', op ?? 'config write', args, 'EINVAL', problem),
    );
  }
  if (path.via === 'sysfs') return fromHost(sysfsConfigWrite(w, t, offset, size, value, op));
  if (offset % size !== 0) {
    const args = { fd: path.fd, offset, size, value };
    return fromHost(hostErr('vfio', 'VFIO_PCI_CONFIG_REGION write', args, 'EINVAL', 'unaligned'));
  }
  return fromHost(await vfioConfigWrite(w.m, w.h, { fd: path.fd, offset, size, value }));
}

/** The PF a VF belongs to (its SR-IOV First VF Offset and Stride place it), or undefined. */
function pfOf(w: World, t: Target): { pf: Target; sriov: number; vfIndex: number } | undefined {
  for (const rid of w.m.functions()) {
    const sriov = sriovOf(w.m, rid);
    if (sriov === undefined) continue;
    const first = w.m.configRead(rid, sriov + PCI_SRIOV_VF_OFFSET, 2);
    const stride = w.m.configRead(rid, sriov + PCI_SRIOV_VF_STRIDE, 2) || 1;
    const num = w.m.configRead(rid, sriov + PCI_SRIOV_NUM_VF, 2);
    const d = t.rid - (rid + first);
    if (d >= 0 && d % stride === 0 && d / stride < num) {
      return { pf: { fn: rid & 0xff, rid, bdf: bdfOf(rid) }, sriov, vfIndex: d / stride + 1 };
    }
  }
  return undefined;
}

/** One BAR register block: where its low dword is, its value now, and whether it is 64-bit. */
function barRegister(
  w: World,
  t: Target,
  bar: number,
): { owner: Target; reg: number; vfIndex: number; lo: number; hi: number; is64: boolean } | string {
  if (!Number.isInteger(bar) || bar < 0 || bar > 5) return `BAR ${bar}: 0..5`;
  const vf = pfOf(w, t);
  const owner = vf ? vf.pf : t;
  const reg = (vf ? vf.sriov + PCI_SRIOV_BAR : PCI_BASE_ADDRESS_0) + 4 * bar;
  const lo = w.m.configRead(owner.rid, reg, 4) >>> 0;
  if (lo & PCI_BASE_ADDRESS_SPACE_IO) return `BAR ${bar} is an I/O BAR`;
  const size = w.m.barAddress(t.rid, bar)?.size;
  if (lo === 0 && size === undefined) return `BAR ${bar} is not implemented`;
  const is64 = (lo & PCI_BASE_ADDRESS_MEM_TYPE_64) !== 0;
  const hi = is64 && bar < 5 ? w.m.configRead(owner.rid, reg + 4, 4) >>> 0 : 0;
  return { owner, reg, vfIndex: vf?.vfIndex ?? 0, lo, hi, is64 };
}

/** The MSI-X table of a function: its BAR's bus address, offset in it and entry count. */
function msixTable(
  w: World,
  t: Target,
): { flags: number; cap: number; base: bigint; offset: number; entries: number } | string {
  const cap = pciFindCapability(w.m, t.rid, PCI_CAP_ID_MSIX);
  if (cap === undefined) return `function ${t.fn} has no MSI-X capability`;
  const flags = w.m.configRead(t.rid, cap + PCI_MSIX_FLAGS, 2);
  const table = w.m.configRead(t.rid, cap + PCI_MSIX_TABLE, 4) >>> 0;
  const bar = w.m.barAddress(t.rid, table & PCI_MSIX_TABLE_BIR);
  if (!bar) return `the MSI-X table's BAR ${table & PCI_MSIX_TABLE_BIR} is not assigned`;
  return {
    flags,
    cap,
    base: bar.base,
    offset: (table & PCI_MSIX_TABLE_OFFSET) >>> 0,
    entries: (flags & PCI_MSIX_FLAGS_QSIZE) + 1,
  };
}

const MSIX_FIELDS = { 'addr-lo': 0, 'addr-hi': 4, data: 8, ctrl: PCI_MSIX_ENTRY_VECTOR_CTRL };

/** The functions worth trying: every function on the bus (PFs and enabled VFs). */
function targets(w: World): Target[] {
  return w.m.functions().map((rid) => ({ fn: rid & 0xff, rid, bdf: bdfOf(rid) }));
}

/** Both paths where VFIO owns the function, the kernel's own otherwise. */
function viaArgs(w: World, t: Target): Record<string, string>[] {
  return vfioDeviceByRid(w.h, t.rid) ? [{}, { via: 'sysfs' }] : [{}];
}

/** Config writes worth trying on function `t`: the fields TDISP cares about, then boundaries. */
function configCandidates(w: World, t: Target): { offset: number; size: Size; value: number }[] {
  const out: { offset: number; size: Size; value: number }[] = [];
  const rd = (o: number, s: Size) => w.m.configRead(t.rid, o, s);
  const cmd = rd(PCI_COMMAND, 2);
  out.push(
    { offset: PCI_COMMAND, size: 2, value: cmd & ~PCI_COMMAND_MEMORY },
    { offset: PCI_COMMAND, size: 2, value: cmd & ~PCI_COMMAND_MASTER },
    { offset: PCI_COMMAND, size: 2, value: cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER },
  );
  const bar0 = rd(PCI_BASE_ADDRESS_0, 4) >>> 0;
  if (bar0 !== 0) {
    out.push(
      { offset: PCI_BASE_ADDRESS_0, size: 4, value: bar0 },
      { offset: PCI_BASE_ADDRESS_0, size: 4, value: 0xffffffff },
    );
  }
  const pm = pciFindCapability(w.m, t.rid, PCI_CAP_ID_PM);
  if (pm !== undefined) {
    const pmcsr = rd(pm + PCI_PM_CTRL, 2) & ~PCI_PM_CTRL_STATE_MASK;
    out.push(
      { offset: pm + PCI_PM_CTRL, size: 2, value: pmcsr | PCI_D3HOT },
      { offset: pm + PCI_PM_CTRL, size: 2, value: pmcsr },
    );
  }
  const exp = pciFindCapability(w.m, t.rid, PCI_CAP_ID_EXP);
  if (exp !== undefined) {
    const ctl = rd(exp + PCI_EXP_DEVCTL, 2);
    out.push({ offset: exp + PCI_EXP_DEVCTL, size: 2, value: ctl | PCI_EXP_DEVCTL_BCR_FLR });
  }
  const msix = pciFindCapability(w.m, t.rid, PCI_CAP_ID_MSIX);
  if (msix !== undefined) {
    const flags = rd(msix + PCI_MSIX_FLAGS, 2);
    out.push(
      { offset: msix + PCI_MSIX_FLAGS, size: 2, value: flags ^ PCI_MSIX_FLAGS_ENABLE },
      { offset: msix + PCI_MSIX_FLAGS, size: 2, value: flags | PCI_MSIX_FLAGS_MASKALL },
    );
  }
  const sriov = sriovOf(w.m, t.rid);
  if (sriov !== undefined) {
    const ctrl = rd(sriov + PCI_SRIOV_CTRL, 2);
    out.push(
      { offset: sriov + PCI_SRIOV_CTRL, size: 2, value: ctrl & ~PCI_SRIOV_CTRL_VFE },
      { offset: sriov + PCI_SRIOV_CTRL, size: 2, value: ctrl & ~PCI_SRIOV_CTRL_MSE },
      {
        offset: sriov + PCI_SRIOV_CTRL,
        size: 2,
        value: ctrl | PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE,
      },
      { offset: sriov + PCI_SRIOV_NUM_VF, size: 2, value: 1 },
      { offset: sriov + PCI_SRIOV_BAR, size: 4, value: rd(sriov + PCI_SRIOV_BAR, 4) >>> 0 },
    );
  }
  // Boundaries: read-only ids, the last dword and byte, one past the end, unaligned.
  out.push(
    { offset: 0, size: 4, value: 0 },
    { offset: CFG_SPACE_SIZE - 4, size: 4, value: 0xffffffff },
    { offset: CFG_SPACE_SIZE - 1, size: 1, value: 0xff },
    { offset: CFG_SPACE_SIZE, size: 4, value: 0 },
    { offset: PCI_COMMAND + 1, size: 2, value: 0 },
  );
  return out;
}

export const HOST_CONFIG_OPS: OpTable = {
  'host.pci/config-write': {
    actor: 'host',
    run: async (w, step) => {
      const t = target(w, step);
      if (isResult(t)) return t;
      const path = pathOf(w, step, t);
      if (isResult(path)) return path;
      const size = arg(step, 'size', 4);
      return configWrite(w, t, path, arg(step, 'offset', 0), size as Size, arg(step, 'value', 0));
    },
    candidates: (w) =>
      targets(w).flatMap((t) =>
        viaArgs(w, t).flatMap((via) =>
          configCandidates(w, t).map(({ offset, size, value }) => ({
            do: 'host.pci/config-write',
            args: { fn: t.fn, offset, size, value, ...via },
          })),
        ),
      ),
  },

  'host.pci/flr': {
    actor: 'host',
    run: async (w, step) => {
      const t = target(w, step);
      if (isResult(t)) return t;
      const path = pathOf(w, step, t);
      if (isResult(path)) return path;
      if (path.via === 'vfio') return fromHost(await vfioDeviceReset(w.m, w.h, { fd: path.fd }));
      return fromHost(pciResetFunction(w.m, t.rid));
    },
    candidates: (w) =>
      targets(w).flatMap((t) =>
        viaArgs(w, t).map((via) => ({ do: 'host.pci/flr', args: { fn: t.fn, ...via } })),
      ),
  },

  'host.pci/bar-rewrite': {
    actor: 'host',
    run: async (w, step) => {
      const t = target(w, step);
      if (isResult(t)) return t;
      const bar = arg(step, 'bar', 0);
      const r = barRegister(w, t, bar);
      const op = 'pci_update_resource';
      if (typeof r === 'string')
        return fromHost(hostErr('pci', op, { bdf: t.bdf, bar }, 'EINVAL', r));
      // The address to place this function's BAR at (default: where it is, rewritten).
      const now = (BigInt(r.hi) << 32n) | BigInt((r.lo & ~0xf) >>> 0);
      const size = w.m.barAddress(t.rid, bar)?.size ?? 0n;
      const current = now + BigInt(Math.max(r.vfIndex - 1, 0)) * size;
      let want = current;
      try {
        if (step.args?.address !== undefined) want = BigInt(step.args.address);
      } catch {
        return refused('EINVAL', `address '${String(step.args?.address)}' is not a number`);
      }
      // A VF's BAR lives in its PF's SR-IOV capability: VF n sits at base + (n - 1) * size.
      const base = want - BigInt(Math.max(r.vfIndex - 1, 0)) * size;
      const name = r.vfIndex ? 'pci_iov_update_resource' : op;
      const args = { bdf: r.owner.bdf, bar, address: `0x${base.toString(16)}` };
      if (base < 0n || base >= (r.is64 ? 1n << 64n : 1n << 32n)) {
        return fromHost(hostErr('pci', name, args, 'EINVAL', 'address out of the BAR type range'));
      }
      const lo = Number(base & 0xfffffff0n) | (r.lo & 0xf);
      w.m.configWrite(r.owner.rid, r.reg, 4, lo >>> 0);
      if (r.is64) w.m.configWrite(r.owner.rid, r.reg + 4, 4, Number(base >> 32n));
      return fromHost(hostOk('pci', name, args, undefined));
    },
    candidates: (w) =>
      targets(w).flatMap((t): WorldStep[] => {
        const bar = w.m.barAddress(t.rid, 0);
        if (!bar) return [];
        return [
          { do: 'host.pci/bar-rewrite', args: { fn: t.fn, bar: 0 } },
          {
            do: 'host.pci/bar-rewrite',
            args: { fn: t.fn, bar: 0, address: `0x${(bar.base + bar.size * 64n).toString(16)}` },
          },
        ];
      }),
  },

  'host.pci/d3': {
    actor: 'host',
    run: async (w, step) => {
      const t = target(w, step);
      if (isResult(t)) return t;
      const path = pathOf(w, step, t);
      if (isResult(path)) return path;
      const state = step.args?.state ?? 'D3hot';
      if (state !== 'D3hot' && state !== 'D0') {
        return refused('EINVAL', `state '${String(state)}': D3hot or D0`);
      }
      const pm = pciFindCapability(w.m, t.rid, PCI_CAP_ID_PM);
      if (pm === undefined) {
        return refused('EINVAL', `function ${t.fn} has no PM capability (a VF follows its PF)`);
      }
      const pmcsr = w.m.configRead(t.rid, pm + PCI_PM_CTRL, 2) & ~PCI_PM_CTRL_STATE_MASK;
      const value = pmcsr | (state === 'D3hot' ? PCI_D3HOT : 0);
      return configWrite(w, t, path, pm + PCI_PM_CTRL, 2, value, 'pci_set_power_state');
    },
    candidates: (w) =>
      targets(w)
        .filter((t) => pciFindCapability(w.m, t.rid, PCI_CAP_ID_PM) !== undefined)
        .flatMap((t) =>
          ['D3hot', 'D0'].map((state) => ({ do: 'host.pci/d3', args: { fn: t.fn, state } })),
        ),
  },

  'host.pci/bme-clear': {
    actor: 'host',
    run: async (w, step) => {
      const t = target(w, step);
      if (isResult(t)) return t;
      const path = pathOf(w, step, t);
      if (isResult(path)) return path;
      const cmd = w.m.configRead(t.rid, PCI_COMMAND, 2);
      const value = cmd & ~PCI_COMMAND_MASTER;
      return configWrite(w, t, path, PCI_COMMAND, 2, value, 'pci_clear_master');
    },
    candidates: (w) =>
      targets(w).flatMap((t) =>
        viaArgs(w, t).map((via) => ({ do: 'host.pci/bme-clear', args: { fn: t.fn, ...via } })),
      ),
  },

  'host.pci/msix-write': {
    actor: 'host',
    run: async (w, step) => {
      const t = target(w, step);
      if (isResult(t)) return t;
      const entry = arg(step, 'entry', 0);
      const field = String(step.args?.field ?? 'ctrl');
      const op = field === 'ctrl' ? 'pci_msix_write_vector_ctrl' : '__pci_write_msi_msg';
      const args = { bdf: t.bdf, entry, field };
      const m = msixTable(w, t);
      if (typeof m === 'string') return fromHost(hostErr('pci', op, args, 'EINVAL', m));
      if (!Object.hasOwn(MSIX_FIELDS, field)) {
        return fromHost(
          hostErr(
            'pci',
            op,
            args,
            'EINVAL',
            `field '${field}': ${Object.keys(MSIX_FIELDS).join(', ')}`,
          ),
        );
      }
      if (!Number.isInteger(entry) || entry < 0 || entry >= m.entries) {
        return fromHost(
          hostErr('pci', op, args, 'EINVAL', `entry ${entry} outside the ${m.entries}-entry table`),
        );
      }
      const dflt = field === 'ctrl' ? PCI_MSIX_ENTRY_CTRL_MASKBIT : field === 'data' ? 0x4021 : 0;
      const value = arg(step, 'value', dflt) >>> 0;
      const data = new Uint8Array(4);
      new DataView(data.buffer).setUint32(0, value, true);
      const fieldOffset = MSIX_FIELDS[field as keyof typeof MSIX_FIELDS];
      const address = m.base + BigInt(m.offset + entry * PCI_MSIX_ENTRY_SIZE + fieldOffset);
      const o = w.m.mmioWrite(address, data);
      const events = o.events as StepEvent[];
      const status = o.result.status;
      const done = { ...args, value, address: `0x${address.toString(16)}` };
      if (status === 'SC') {
        return {
          ok: true,
          events: [...events, ...(hostOk('pci', op, done, undefined).events as StepEvent[])],
        };
      }
      // A posted write: the device dropped it; the CPU hears nothing, the fabric saw it.
      const why = `the device dropped the posted write (${status})`;
      const own = hostErr('pci', op, done, 'EIO', why).events as StepEvent[];
      return { ok: false, errno: 'EIO', detail: why, events: [...events, ...own] };
    },
    candidates: (w) =>
      targets(w).flatMap((t): WorldStep[] => {
        const m = msixTable(w, t);
        if (typeof m === 'string') return [];
        const last = m.entries - 1;
        return [
          { do: 'host.pci/msix-write', args: { fn: t.fn, entry: 0, field: 'ctrl', value: 0 } },
          { do: 'host.pci/msix-write', args: { fn: t.fn, entry: 0, field: 'data' } },
          {
            do: 'host.pci/msix-write',
            args: { fn: t.fn, entry: last, field: 'addr-lo', value: 0xfee00000 },
          },
          { do: 'host.pci/msix-write', args: { fn: t.fn, entry: m.entries, field: 'ctrl' } },
        ];
      }),
  },
};
