/**
 * IOMMU_VIOMMU_ALLOC (drivers/iommu/iommufd/viommu.c): a virtual IOMMU for a VM over a
 * nesting-parent HWPT. With the TEE-IO RFC it may carry the VM's KVM fd: a vIOMMU with KVM,
 * which the TSM bind needs (the firmware binds a TDI to a VM, SYSTEM.md section 1).
 */
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { iommufdObject } from './object.ts';
import { IOMMU_VIOMMU_TYPE_DEFAULT } from './uapi.ts';

/**
 * IOMMU_VIOMMU_ALLOC {flags, type, dev_id, hwpt_id, kvm_vm_fd}: the vIOMMU id. -ENOENT no such
 * device or HWPT; -EINVAL a HWPT of another device; -EOPNOTSUPP flags set or a type this
 * model's IOMMU does not offer; -EBADF a kvm_vm_fd that is no KVM VM.
 */
export function iommuViommuAlloc(
  _m: HostMachine,
  h: HostState,
  a: { flags: number; type: number; devId: number; hwptId: number; kvmVmFd?: number },
): HostOutcome<number> {
  const op = 'IOMMU_VIOMMU_ALLOC';
  const args = {
    flags: a.flags,
    type: a.type,
    dev_id: a.devId,
    hwpt_id: a.hwptId,
    ...(a.kvmVmFd === undefined ? {} : { kvm_vm_fd: a.kvmVmFd }),
  };
  if (!iommufdObject(h, a.devId, 'device')) {
    return hostErr('iommufd', op, args, 'ENOENT', `no device ${a.devId}`);
  }
  const hwpt = iommufdObject(h, a.hwptId, 'hwpt');
  if (!hwpt) return hostErr('iommufd', op, args, 'ENOENT', `no HWPT ${a.hwptId}`);
  if (hwpt.devId !== a.devId) {
    return hostErr('iommufd', op, args, 'EINVAL', `HWPT ${a.hwptId} is device ${hwpt.devId}'s`);
  }
  if (a.flags !== 0 || a.type !== IOMMU_VIOMMU_TYPE_DEFAULT) {
    return hostErr('iommufd', op, args, 'EOPNOTSUPP', `flags ${a.flags}, type ${a.type}`);
  }
  if (a.kvmVmFd !== undefined && !h.kvm.vms.has(a.kvmVmFd)) {
    return hostErr('iommufd', op, args, 'EBADF', `fd ${a.kvmVmFd} is not a KVM VM`);
  }
  const id = h.iommufd.nextId++;
  h.iommufd.objects.set(id, {
    type: 'viommu',
    id,
    devId: a.devId,
    hwpt: a.hwptId,
    ...(a.kvmVmFd === undefined ? {} : { kvmVmFd: a.kvmVmFd }),
  });
  return hostOk('iommufd', op, { ...args, out_viommu_id: id }, id);
}
