/**
 * The VFIO device cdev (drivers/vfio/device_cdev.c, vfio_main.c): open /dev/vfio/devices/vfioN,
 * VFIO_DEVICE_BIND_IOMMUFD and the TEE-IO RFC's VFIO_DEVICE_BIND_IOMMUFD_PRIVATE, and close.
 */
import type { Rid } from '../../platform/ids.ts';
import { iommuAttach, iommuDetach } from '../../platform/iommu.ts';
import { dmaBufRevoke } from '../dma-buf/core.ts';
import { iommufdObject } from '../iommufd/object.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import { allocFd, type HostState } from '../state.ts';
import { claimRefusal } from './claim.ts';
import { hexRid, vfioDeviceByRid, vfioDeviceOf } from './device.ts';
import { whileBound } from './reset.ts';

/**
 * open of the function's cdev: a new device fd. -ENODEV no such function on the bus, -EBUSY
 * already open (this model's VMM opens each device once).
 */
export function vfioOpen(m: HostMachine, h: HostState, a: { rid: Rid }): HostOutcome<number> {
  const op = 'open';
  const args = { path: `/dev/vfio/devices/${hexRid(a.rid)}` };
  if (!m.functions().includes(a.rid)) {
    return hostErr('vfio', op, args, 'ENODEV', `no function ${hexRid(a.rid)}`);
  }
  const cur = vfioDeviceByRid(h, a.rid);
  if (cur) return hostErr('vfio', op, args, 'EBUSY', `${hexRid(a.rid)} is open as fd ${cur.fd}`);
  const fd = allocFd(h);
  h.vfio.devices.set(fd, {
    fd,
    rid: a.rid,
    claimed: false,
    memoryEnabled: true,
    power: 'D0',
    dmaBufs: [],
    mmapped: [],
  });
  return hostOk('vfio', op, { ...args, fd }, fd);
}

/**
 * VFIO_DEVICE_BIND_IOMMUFD {iommufd, flags} (and ..._PRIVATE): the device joins the iommufd
 * and gets its dev id. -EBADF not a device fd or not the iommufd, -EINVAL flags set or already
 * bound; the private bind also claims the BARs when `regionClaim` is 'open' (-EBUSY while the
 * host has one mmapped).
 */
export function vfioDeviceBindIommufd(
  _m: HostMachine,
  h: HostState,
  a: { fd: number; iommufd: number; flags?: number; private?: boolean },
): HostOutcome<number> {
  const op = a.private ? 'VFIO_DEVICE_BIND_IOMMUFD_PRIVATE' : 'VFIO_DEVICE_BIND_IOMMUFD';
  const args = { fd: a.fd, iommufd: a.iommufd, flags: a.flags ?? 0 };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  if (h.iommufd.fd === 0 || a.iommufd !== h.iommufd.fd) {
    return hostErr('vfio', op, args, 'EBADF', `fd ${a.iommufd} is not an iommufd`);
  }
  if ((a.flags ?? 0) !== 0) return hostErr('vfio', op, args, 'EINVAL', 'flags must be 0');
  if (d.bound) return hostErr('vfio', op, args, 'EINVAL', `bound as dev ${d.bound.devId}`);
  const claim = a.private && h.switches.regionClaim === 'open';
  const busy = claim ? claimRefusal(d) : undefined;
  if (busy) return hostErr('vfio', op, args, 'EBUSY', busy);
  const devId = h.iommufd.nextId++;
  h.iommufd.objects.set(devId, { type: 'device', id: devId, rid: d.rid, vfioFd: d.fd });
  d.bound = { iommufd: a.iommufd, devId, private: a.private === true };
  if (claim) d.claimed = true;
  return hostOk('vfio', op, { ...args, devId }, devId);
}

/**
 * close of the device fd: a TSM-bound device is unbound first, or the close is refused with
 * -EBUSY (switch `resetWhileBound`); its dma-bufs are revoked for good, it leaves the iommufd
 * (its vDEVICEs go with it) and the claim is released.
 */
export async function vfioClose(
  m: HostMachine,
  h: HostState,
  a: { fd: number },
): Promise<HostOutcome> {
  const op = 'close';
  const args = { fd: a.fd };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  const pre = await whileBound(m, h, d, op, args);
  if (!pre.ok) return pre;
  const events = [...pre.events];
  events.push(...(await dmaBufRevoke(m, h, { fds: d.dmaBufs, final: true })).events);
  if (d.bound) {
    const devId = d.bound.devId;
    for (const [id, o] of h.iommufd.objects) {
      if (o.type === 'vdevice' && o.devId === devId) h.iommufd.objects.delete(id);
    }
    h.iommufd.objects.delete(devId);
    // iommufd_device_unbind detaches the device from its HWPT, so the next open can attach
    // it anew (to this domain or another).
    if (m.iommu.attached.has(d.rid)) events.push(...iommuDetach(m.iommu, d.rid).events);
  }
  h.vfio.devices.delete(a.fd);
  return hostOk('vfio', op, args, undefined, events);
}

/**
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT {pt_id}: the device's T=0 DMA translates through HWPT
 * `pt_id`'s domain. -EBADF, -EINVAL not bound to iommufd, -ENOENT no such HWPT, -EBUSY
 * attached to another domain (iommu_attach_device).
 */
export function vfioDeviceAttachIommufdPt(
  m: HostMachine,
  h: HostState,
  a: { fd: number; ptId: number },
): HostOutcome {
  const op = 'VFIO_DEVICE_ATTACH_IOMMUFD_PT';
  const args = { fd: a.fd, pt_id: a.ptId };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  if (!d.bound) return hostErr('vfio', op, args, 'EINVAL', 'not bound to an iommufd');
  const hwpt = iommufdObject(h, a.ptId, 'hwpt');
  if (!hwpt) return hostErr('vfio', op, args, 'ENOENT', `no HWPT ${a.ptId}`);
  const r = iommuAttach(m.iommu, d.rid, hwpt.domain);
  if (!r.result.ok) return hostErr('vfio', op, args, 'EBUSY', r.result.reason, r.events);
  return hostOk('vfio', op, args, undefined, r.events);
}
