/**
 * IOMMU_DESTROY of a vDEVICE (drivers/iommu/iommufd/main.c iommufd_destroy, viommu.c
 * iommufd_vdevice_destroy). A TSM-bound vDEVICE is unbound first, as the TEE-IO series'
 * vDEVICE destroy calls the TSM unbind: the guest's device must not outlive its vDEVICE
 * bound. This model destroys only vDEVICEs; the VMM creates the other objects once per
 * device and they go with the device file (vfio/cdev.ts close).
 */
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { vfioDeviceOf } from '../vfio/device.ts';
import { tsmUnbindDevice } from '../vfio/tsm.ts';
import { iommufdObject } from './object.ts';

/**
 * IOMMU_DESTROY {id} of vDEVICE `id`. -EBADF when no iommufd is open; -ENOENT no object
 * `id`, or one that is not a vDEVICE (not destroyable in this model); the TSM unbind's errno
 * when the vDEVICE is bound and the unbind fails (the vDEVICE stays; what the unbind did
 * before failing stays done, as in the kernel).
 */
export async function iommuVdeviceDestroy(
  m: HostMachine,
  h: HostState,
  a: { id: number },
): Promise<HostOutcome> {
  const op = 'IOMMU_DESTROY';
  const args = { id: a.id };
  if (h.iommufd.fd === 0) return hostErr('iommufd', op, args, 'EBADF', 'no iommufd is open');
  const vdev = iommufdObject(h, a.id, 'vdevice');
  if (!vdev) return hostErr('iommufd', op, args, 'ENOENT', `no vDEVICE ${a.id}`);
  const events: HostOutcome['events'] = [];
  if (vdev.tsmBound) {
    const dev = iommufdObject(h, vdev.devId, 'device');
    const d = dev ? vfioDeviceOf(h, dev.vfioFd) : undefined;
    if (d?.tsmBound?.vdeviceId === vdev.id) {
      const r = await tsmUnbindDevice(m, h, d);
      if (!r.ok) return hostErr('iommufd', op, args, r.errno, r.detail, r.events);
      events.push(...r.events);
    }
  }
  h.iommufd.objects.delete(vdev.id);
  return hostOk('iommufd', op, args, undefined, events);
}
