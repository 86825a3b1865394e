/**
 * The TSM operations on an iommufd vDEVICE (the TEE-IO RFC): IOMMU_VDEVICE_TSM_OP with type
 * BIND or UNBIND, and IOMMU_VDEVICE_TSM_REQ, which carries a guest's request about its bound
 * device to the TSM (pci_tsm_guest_req).
 *
 * When `bindUapi` is 'vfio', IOMMU_VDEVICE_TSM_OP answers -EOPNOTSUPP rather than -ENOTTY:
 * iommufd knows the vDEVICE TSM ioctls in both designs (TSM_REQ is used either way), it is
 * the BIND / UNBIND operation that is not offered, which iommufd answers as any operation a
 * vIOMMU does not support. The bind itself is VFIO's (vfio/tsm.ts), shared by both uAPIs.
 */
import type { VmId } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import { pciTsmGuestReq } from '../pci-tsm/core.ts';
import type { HostState } from '../state.ts';
import type { GuestRequest } from '../tsm/driver.ts';
import { vfioDeviceOf } from '../vfio/device.ts';
import type { VfioDevice } from '../vfio/state.ts';
import { tsmBindCheck, tsmBindDevice, tsmUnbindDevice } from '../vfio/tsm.ts';
import { iommufdObject } from './object.ts';
import type { IommufdObject } from './state.ts';
import { IOMMU_VDEVICE_TSM_BIND, IOMMU_VDEVICE_TSM_UNBIND } from './uapi.ts';

type Vdevice = Extract<IommufdObject, { type: 'vdevice' }>;

/** The VFIO device behind a vDEVICE (its iommufd device's fd), if still open. */
function vfioOfVdevice(h: HostState, vdev: Vdevice): VfioDevice | undefined {
  const dev = iommufdObject(h, vdev.devId, 'device');
  return dev ? vfioDeviceOf(h, dev.vfioFd) : undefined;
}

/**
 * IOMMU_VDEVICE_TSM_OP {vdevice_id, type, flags}. -EOPNOTSUPP when the bind is VFIO's, or
 * flags set; -ENOENT no such vDEVICE, or (bind) a vIOMMU without KVM; -ENODEV the device is
 * gone or its KVM VM is; -EINVAL an unknown type, or a device not bound with
 * VFIO_DEVICE_BIND_IOMMUFD_PRIVATE; -EEXIST already bound; -EBUSY a BAR mmapped by the host;
 * unbind: -ENXIO when not bound. The PCI/TSM core's and the driver's errno otherwise.
 */
export async function iommuVdeviceTsmOp(
  m: HostMachine,
  h: HostState,
  a: { vdeviceId: number; type: number; flags: number },
): Promise<HostOutcome> {
  const op = 'IOMMU_VDEVICE_TSM_OP';
  const args = { vdevice_id: a.vdeviceId, type: a.type, flags: a.flags };
  const refuse = (errno: Parameters<typeof hostErr>[3], detail: string) =>
    hostErr('iommufd', op, args, errno, detail);
  if (h.switches.bindUapi !== 'vdevice') {
    return refuse('EOPNOTSUPP', 'the TSM bind is VFIO_DEVICE_TSM_BIND');
  }
  if (a.flags !== 0) return refuse('EOPNOTSUPP', `flags 0x${a.flags.toString(16)}`);
  const vdev = iommufdObject(h, a.vdeviceId, 'vdevice');
  if (!vdev) return refuse('ENOENT', `no vDEVICE ${a.vdeviceId}`);
  const d = vfioOfVdevice(h, vdev);
  if (!d) return refuse('ENODEV', `vDEVICE ${vdev.id}'s device is gone`);
  if (a.type === IOMMU_VDEVICE_TSM_BIND) {
    if (!d.bound?.private) {
      return refuse('EINVAL', 'not bound with VFIO_DEVICE_BIND_IOMMUFD_PRIVATE');
    }
    const c = tsmBindCheck(h, d, vdev);
    if ('errno' in c) return refuse(c.errno, c.detail);
    const r = await tsmBindDevice(m, h, d, vdev, c);
    if (!r.ok) return hostErr('iommufd', op, args, r.errno, r.detail, r.events);
    return hostOk('iommufd', op, args, undefined, r.events);
  }
  if (a.type === IOMMU_VDEVICE_TSM_UNBIND) {
    if (!vdev.tsmBound || d.tsmBound?.vdeviceId !== vdev.id) {
      return refuse('ENXIO', `vDEVICE ${vdev.id} is not TSM-bound`);
    }
    const r = await tsmUnbindDevice(m, h, d);
    if (!r.ok) return hostErr('iommufd', op, args, r.errno, r.detail, r.events);
    return hostOk('iommufd', op, args, undefined, r.events);
  }
  return refuse('EINVAL', `unknown TSM op type ${a.type}`);
}

/**
 * IOMMU_VDEVICE_TSM_REQ {vdevice_id, request}: the guest's request passed to the TSM through
 * pci_tsm_guest_req, for the VM of the vIOMMU's KVM; the TSM's answer. -ENOENT no such
 * vDEVICE or not TSM-bound; -ENODEV the device or its VM is gone; pci_tsm_guest_req's errno.
 */
export async function iommuVdeviceTsmReq(
  m: HostMachine,
  h: HostState,
  a: { vdeviceId: number; request: GuestRequest },
): Promise<HostOutcome<unknown>> {
  const op = 'IOMMU_VDEVICE_TSM_REQ';
  const args = { vdevice_id: a.vdeviceId, scope: a.request.scope };
  const vdev = iommufdObject(h, a.vdeviceId, 'vdevice');
  if (!vdev) return hostErr('iommufd', op, args, 'ENOENT', `no vDEVICE ${a.vdeviceId}`);
  if (!vdev.tsmBound) {
    return hostErr('iommufd', op, args, 'ENOENT', `vDEVICE ${vdev.id} is not TSM-bound`);
  }
  const d = vfioOfVdevice(h, vdev);
  const viommu = iommufdObject(h, vdev.viommu, 'viommu');
  // A bare-metal bind (switch bareMetal 'host-context') has the host process's context.
  const vm: VmId | undefined =
    viommu?.kvmVmFd === undefined
      ? d?.tsmBound?.hostContext?.vm
      : h.kvm.vms.get(viommu.kvmVmFd)?.vm;
  if (!d || vm === undefined) {
    return hostErr('iommufd', op, args, 'ENODEV', 'the device or its VM is gone');
  }
  const r = await pciTsmGuestReq(m, h, { rid: d.rid, vm, request: a.request });
  if (!r.ok) return hostErr('iommufd', op, args, r.errno, r.detail, r.events);
  return hostOk('iommufd', op, args, r.value, r.events);
}
