/**
 * What takes a device's memory away (vfio_pci_core: the Command register's Memory Space
 * Enable, the PM capability's power state, FLR, VFIO_DEVICE_RESET, VFIO_DEVICE_PCI_HOT_RESET):
 * each revokes the device's dma-bufs first (importers unmap through move_notify) and restores
 * them afterwards if memory is still enabled and the device is in D0; close revokes for good.
 *
 * On a TSM-bound device each of these would send the TDI to TDISP ERROR (SYSTEM.md section 2).
 * Switch `resetWhileBound` (open question 5): 'unbind' (the RFC) unbinds first and goes on;
 * 'refuse' answers -EBUSY and changes nothing.
 */

import {
  PCI_BASE_ADDRESS_0,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_PM,
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  PCI_EXP_DEVCAP,
  PCI_EXP_DEVCAP_FLR,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_PM_CTRL,
  PCI_PM_CTRL_STATE_MASK,
  PCI_ROM_ADDRESS,
} from '../../device/pci/regs.ts';
import type { AbiArg } from '../../platform/abi.ts';
import { busOf } from '../../platform/ids.ts';
import { dmaBufRestore, dmaBufRevoke } from '../dma-buf/core.ts';
import type { HostMachine } from '../machine.ts';
import { type HostEvent, type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { hexRid, pciFindCapability, vfioDeviceByRid, vfioDeviceOf } from './device.ts';
import type { VfioDevice } from './state.ts';
import { tsmUnbindDevice } from './tsm.ts';

const D3HOT = 3;

/**
 * Switch 5 before an operation that would put a bound TDI in ERROR: nothing to do when not
 * bound; -EBUSY ('refuse'); or the TSM unbind first ('unbind'), whose errno stops `op`.
 */
export async function whileBound(
  m: HostMachine,
  h: HostState,
  d: VfioDevice,
  op: string,
  args: Record<string, AbiArg>,
): Promise<HostOutcome> {
  if (!d.tsmBound) return { ok: true, value: undefined, events: [] };
  if (h.switches.resetWhileBound === 'refuse') {
    return hostErr('vfio', op, args, 'EBUSY', `${hexRid(d.rid)} is TSM-bound`);
  }
  const r = await tsmUnbindDevice(m, h, d);
  if (!r.ok) return hostErr('vfio', op, args, r.errno, r.detail, r.events);
  return r;
}

/**
 * The common sequence: every bound device of `devs` checked (refused before anything
 * changes) then unbound, the dma-bufs revoked, `act` done on the hardware, the state `after`
 * recorded, and the dma-bufs restored where memory is enabled in D0.
 */
async function revokeAround(
  m: HostMachine,
  h: HostState,
  devs: VfioDevice[],
  op: string,
  args: Record<string, AbiArg>,
  act: (d: VfioDevice) => void,
): Promise<HostOutcome> {
  if (h.switches.resetWhileBound === 'refuse') {
    const bound = devs.find((d) => d.tsmBound);
    if (bound) return hostErr('vfio', op, args, 'EBUSY', `${hexRid(bound.rid)} is TSM-bound`);
  }
  const events: HostEvent[] = [];
  for (const d of devs) {
    const r = await whileBound(m, h, d, op, args);
    if (!r.ok) return { ...r, events: [...events, ...r.events] };
    events.push(...r.events);
  }
  for (const d of devs) {
    events.push(...(await dmaBufRevoke(m, h, { fds: d.dmaBufs, final: false })).events);
  }
  for (const d of devs) act(d);
  for (const d of devs) {
    if (d.memoryEnabled && d.power === 'D0') events.push(...dmaBufRestore(h, d.dmaBufs));
  }
  return hostOk('vfio', op, args, undefined, events);
}

const covers = (offset: number, size: number, reg: number, regSize: number): boolean =>
  offset < reg + regSize && reg < offset + size;

/** Function level reset as vfio-pci does it: state saved, FLR, state restored (pci_reset_function). */
function flr(m: HostMachine, d: VfioDevice): void {
  // A VF whose PF was reset is gone with the PF's VF Enable; nothing left to reset.
  if (!m.functions().includes(d.rid)) return;
  const exp = pciFindCapability(m, d.rid, PCI_CAP_ID_EXP);
  if (exp === undefined) return;
  const command = m.configRead(d.rid, PCI_COMMAND, 2);
  const ctl = m.configRead(d.rid, exp + PCI_EXP_DEVCTL, 2);
  m.configWrite(d.rid, exp + PCI_EXP_DEVCTL, 2, ctl | PCI_EXP_DEVCTL_BCR_FLR);
  // pci_restore_state: the Command register (and with it MSE) as it was before the reset.
  m.configWrite(d.rid, PCI_COMMAND, 2, command);
}

function flrCapable(m: HostMachine, d: VfioDevice): boolean {
  const exp = pciFindCapability(m, d.rid, PCI_CAP_ID_EXP);
  return (
    exp !== undefined && (m.configRead(d.rid, exp + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) !== 0
  );
}

/**
 * A write to the config region (VFIO_PCI_CONFIG_REGION_INDEX). Clearing Memory Space Enable,
 * entering D3hot through the PM capability, or setting Initiate FLR in PCI Express Device
 * Control revokes the dma-bufs around the write (and the bound TDI per switch 5); setting MSE
 * again or returning to D0 restores them. A write wholly inside the BARs or the Expansion ROM
 * BAR stays in vfio-pci's virtual config space (vfio_pci_config.c virtualizes every bit of
 * them): the device never sees it. -EBADF, -EINVAL past the 4 KiB config space.
 */
export async function vfioConfigWrite(
  m: HostMachine,
  h: HostState,
  a: { fd: number; offset: number; size: 1 | 2 | 4; value: number },
): Promise<HostOutcome> {
  const op = 'VFIO_PCI_CONFIG_REGION write';
  const args = { fd: a.fd, offset: a.offset, size: a.size, value: a.value };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  if (a.offset < 0 || a.offset + a.size > 4096 || a.offset % a.size !== 0) {
    return hostErr('vfio', op, args, 'EINVAL', 'outside config space or unaligned');
  }
  const inside = (reg: number, len: number) => a.offset >= reg && a.offset + a.size <= reg + len;
  if (inside(PCI_BASE_ADDRESS_0, 24) || inside(PCI_ROM_ADDRESS, 4)) {
    return hostOk('vfio', op, { ...args, virtualized: true }, undefined);
  }
  const write = (): void => m.configWrite(d.rid, a.offset, a.size, a.value);
  const field = (reg: number): number => (a.value >>> ((reg - a.offset) * 8)) & 0xffff;
  // Memory Space Enable.
  if (covers(a.offset, a.size, PCI_COMMAND, 1)) {
    const mse = (field(PCI_COMMAND) & PCI_COMMAND_MEMORY) !== 0;
    if (!mse && d.memoryEnabled) {
      return revokeAround(m, h, [d], op, args, (x) => {
        write();
        x.memoryEnabled = false;
      });
    }
    if (mse && !d.memoryEnabled) {
      write();
      d.memoryEnabled = true;
      const events = d.power === 'D0' ? dmaBufRestore(h, d.dmaBufs) : [];
      return hostOk('vfio', op, args, undefined, events);
    }
  }
  // The power state in PMCSR.
  const pm = pciFindCapability(m, d.rid, PCI_CAP_ID_PM);
  if (pm !== undefined && covers(a.offset, a.size, pm + PCI_PM_CTRL, 2)) {
    const state = field(pm + PCI_PM_CTRL) & PCI_PM_CTRL_STATE_MASK;
    if (state === D3HOT && d.power === 'D0') {
      return revokeAround(m, h, [d], op, args, (x) => {
        write();
        x.power = 'D3hot';
      });
    }
    if (state === 0 && d.power === 'D3hot') {
      write();
      d.power = 'D0';
      const events = d.memoryEnabled ? dmaBufRestore(h, d.dmaBufs) : [];
      return hostOk('vfio', op, args, undefined, events);
    }
  }
  // Initiate Function Level Reset.
  const exp = pciFindCapability(m, d.rid, PCI_CAP_ID_EXP);
  if (exp !== undefined && covers(a.offset, a.size, exp + PCI_EXP_DEVCTL, 2)) {
    if (field(exp + PCI_EXP_DEVCTL) & PCI_EXP_DEVCTL_BCR_FLR) {
      return revokeAround(m, h, [d], op, args, () => flr(m, d));
    }
  }
  write();
  return hostOk('vfio', op, args, undefined);
}

/**
 * VFIO_DEVICE_RESET: a function level reset around which the dma-bufs are revoked and
 * restored. -EBADF, -EINVAL when the function cannot reset (no FLR capability).
 */
export function vfioDeviceReset(
  m: HostMachine,
  h: HostState,
  a: { fd: number },
): Promise<HostOutcome> | HostOutcome {
  const op = 'VFIO_DEVICE_RESET';
  const args = { fd: a.fd };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  if (!flrCapable(m, d)) return hostErr('vfio', op, args, 'EINVAL', 'no function level reset');
  return revokeAround(m, h, [d], op, args, () => flr(m, d));
}

/**
 * VFIO_DEVICE_PCI_HOT_RESET: a secondary bus reset resets every function on the bus, so the
 * caller must own all of them (-EPERM otherwise). teeio's device models the conventional reset
 * a function sees as its function level reset, which is what each function gets here. The
 * PF's SR-IOV state is not restored afterwards (pci_restore_iov_state is not modelled).
 */
export function vfioDevicePciHotReset(
  m: HostMachine,
  h: HostState,
  a: { fd: number },
): Promise<HostOutcome> | HostOutcome {
  const op = 'VFIO_DEVICE_PCI_HOT_RESET';
  const args = { fd: a.fd };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  const devs: VfioDevice[] = [];
  for (const rid of m.functions().filter((r) => busOf(r) === busOf(d.rid))) {
    const other = vfioDeviceByRid(h, rid);
    if (!other) return hostErr('vfio', op, args, 'EPERM', `${hexRid(rid)} is not open`);
    devs.push(other);
  }
  // VFs before their PF: the PF's reset clears VF Enable and takes its VFs off the bus.
  return revokeAround(m, h, devs.reverse(), op, args, (x) => flr(m, x));
}
