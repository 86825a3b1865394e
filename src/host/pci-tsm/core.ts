/**
 * The PCI/TSM core (drivers/pci/tsm.c, SYSTEM.md section 3 "Host PCI/TSM core"): the sysfs
 * `tsm/connect` and `tsm/disconnect` of a DSM's function 0 through the platform's link TSM,
 * the probe of every function the DSM manages, and the bind / unbind / guest_req entry points
 * VFIO and iommufd call, each dispatched to the flavour's TSM host driver.
 *
 * The host is in "link" mode: it owns the SPDM session and IDE through the TSM; the guest's
 * "devsec" TSM (lock/accept/unlock) is guest/'s. The link TSM is named 'tsm0'.
 */
import type { Rid, VmId } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import type { GuestRequest, TsmHostDriver } from '../tsm/driver.ts';
import { tsmDriver } from '../tsm/index.ts';
import type { PciTsmDevice } from './state.ts';

/** The platform's one link TSM as /sys/class/tsm names it; its pci_mode is "link". */
export const LINK_TSM = 'tsm0';

const hex = (rid: Rid): string => `0x${rid.toString(16)}`;

/** The functions a DSM manages: every function of its device on its bus (the probe). */
function probe(m: HostMachine, dsm: Rid): Rid[] {
  return m.functions().filter((rid) => rid >>> 8 === dsm >>> 8);
}

/** The PCI/TSM record of the DSM managing `rid`, if connected. */
export function pciTsmDeviceOf(h: HostState, rid: Rid): PciTsmDevice | undefined {
  for (const d of h.pciTsm.devices.values()) if (d.functions.includes(rid)) return d;
  return undefined;
}

/**
 * Writing `tsm` to the DSM's tsm/connect. -EINVAL for a name that is not "tsmN", -ENXIO for
 * a TSM that is not a link TSM, -EBUSY when already connected; the driver's errno otherwise.
 */
export async function pciTsmConnect(
  m: HostMachine,
  h: HostState,
  a: { dsm: Rid; tsm: string },
): Promise<HostOutcome> {
  const op = 'tsm/connect';
  const args = { dsm: hex(a.dsm), tsm: a.tsm };
  if (!/^tsm\d+$/.test(a.tsm))
    return hostErr('pci-tsm', op, args, 'EINVAL', `'${a.tsm}' is not tsmN`);
  const driver = tsmDriver(m);
  if (a.tsm !== LINK_TSM || !driver) {
    return hostErr('pci-tsm', op, args, 'ENXIO', `${a.tsm} is not a link TSM`);
  }
  if (!m.functions().includes(a.dsm)) {
    return hostErr('pci-tsm', op, args, 'ENODEV', `no function ${hex(a.dsm)}`);
  }
  if (h.pciTsm.devices.get(a.dsm)?.connectedTo) {
    return hostErr('pci-tsm', op, args, 'EBUSY', `${hex(a.dsm)} is already connected`);
  }
  const r = await driver.connect(m, h, a.dsm);
  if (!r.ok) return hostErr('pci-tsm', op, args, r.errno, r.detail, r.events);
  h.pciTsm.devices.set(a.dsm, {
    dsm: a.dsm,
    functions: probe(m, a.dsm),
    connectedTo: a.tsm,
    bound: new Map(),
  });
  return hostOk('pci-tsm', op, args, undefined, r.events);
}

/**
 * Writing `tsm` to tsm/disconnect: -ENXIO when not connected, -EINVAL for another TSM's
 * name, -EBUSY while a TDI of the device is bound.
 */
export async function pciTsmDisconnect(
  m: HostMachine,
  h: HostState,
  a: { dsm: Rid; tsm: string },
): Promise<HostOutcome> {
  const op = 'tsm/disconnect';
  const args = { dsm: hex(a.dsm), tsm: a.tsm };
  const d = h.pciTsm.devices.get(a.dsm);
  const driver = tsmDriver(m);
  if (!d?.connectedTo || !driver) {
    return hostErr('pci-tsm', op, args, 'ENXIO', `${hex(a.dsm)} is not connected`);
  }
  if (d.connectedTo !== a.tsm) {
    return hostErr('pci-tsm', op, args, 'EINVAL', `connected to ${d.connectedTo}, not ${a.tsm}`);
  }
  if (d.bound.size > 0) {
    return hostErr('pci-tsm', op, args, 'EBUSY', `${d.bound.size} TDI(s) still bound`);
  }
  const r = await driver.disconnect(m, h, a.dsm);
  if (!r.ok) return hostErr('pci-tsm', op, args, r.errno, r.detail, r.events);
  h.pciTsm.devices.delete(a.dsm);
  return hostOk('pci-tsm', op, args, undefined, r.events);
}

/**
 * pci_tsm_bind(pdev, kvm, tdi_id): the TDI bound to `vm` and locked. -ENXIO when its DSM is
 * not connected, -EBUSY when already bound; the driver's errno otherwise.
 */
export async function pciTsmBind(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vm: VmId; vdevId: number },
): Promise<HostOutcome> {
  const op = 'pci_tsm_bind';
  const args = { rid: hex(a.rid), vm: a.vm, vdevId: a.vdevId };
  const d = pciTsmDeviceOf(h, a.rid);
  const driver = tsmDriver(m);
  if (!d || !driver)
    return hostErr('pci-tsm', op, args, 'ENXIO', `${hex(a.rid)}: DSM not connected`);
  const cur = d.bound.get(a.rid);
  if (cur) return hostErr('pci-tsm', op, args, 'EBUSY', `${hex(a.rid)} is bound to ${cur.vm}`);
  const r = await driver.bind(m, h, a);
  if (!r.ok) return hostErr('pci-tsm', op, args, r.errno, r.detail, r.events);
  d.bound.set(a.rid, { vm: a.vm, vdevId: a.vdevId });
  return hostOk('pci-tsm', op, args, undefined, r.events);
}

/** pci_tsm_unbind's first half: the TDI stopped (CONFIG_UNLOCKED), still bound. -ENXIO when not bound. */
export function pciTsmStop(m: HostMachine, h: HostState, a: { rid: Rid }): Promise<HostOutcome> {
  return boundCall(m, h, a, 'pci_tsm_stop', (d) => d.stop(m, h, a), false);
}

/** pci_tsm_unbind: the TDI's trusted records freed. -ENXIO when not bound; the driver's errno otherwise. */
export function pciTsmUnbind(m: HostMachine, h: HostState, a: { rid: Rid }): Promise<HostOutcome> {
  return boundCall(m, h, a, 'pci_tsm_unbind', (d) => d.unbind(m, h, a), true);
}

async function boundCall(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid },
  op: string,
  call: (driver: TsmHostDriver) => Promise<HostOutcome>,
  forget: boolean,
): Promise<HostOutcome> {
  const args = { rid: hex(a.rid) };
  const d = pciTsmDeviceOf(h, a.rid);
  const driver = tsmDriver(m);
  if (!d?.bound.has(a.rid) || !driver) {
    return hostErr('pci-tsm', op, args, 'ENXIO', `${hex(a.rid)} is not bound`);
  }
  const r = await call(driver);
  if (!r.ok) return hostErr('pci-tsm', op, args, r.errno, r.detail, r.events);
  if (forget) d.bound.delete(a.rid);
  return hostOk('pci-tsm', op, args, undefined, r.events);
}

/**
 * pci_tsm_guest_req: a guest's request about its bound TDI. -ENXIO when not bound, -EPERM
 * when bound to another VM; the driver checks the scope against the message.
 */
export async function pciTsmGuestReq(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vm: VmId; request: GuestRequest },
): Promise<HostOutcome<unknown>> {
  const op = 'pci_tsm_guest_req';
  const args = { rid: hex(a.rid), vm: a.vm, scope: a.request.scope };
  const d = pciTsmDeviceOf(h, a.rid);
  const b = d?.bound.get(a.rid);
  const driver = tsmDriver(m);
  if (!b || !driver) return hostErr('pci-tsm', op, args, 'ENXIO', `${hex(a.rid)} is not bound`);
  if (b.vm !== a.vm)
    return hostErr('pci-tsm', op, args, 'EPERM', `${hex(a.rid)} is bound to ${b.vm}`);
  const r = await driver.guestRequest(m, h, a);
  if (!r.ok) return hostErr('pci-tsm', op, args, r.errno, r.detail, r.events);
  return hostOk('pci-tsm', op, args, r.value, r.events);
}
