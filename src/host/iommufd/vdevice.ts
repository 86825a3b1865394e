/**
 * IOMMU_VDEVICE_ALLOC (drivers/iommu/iommufd/viommu.c): the guest's view of a device behind
 * a vIOMMU, at virtual id `virt_id` (the virtual BDF / vRID the guest sees it at).
 */
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { iommufdObject } from './object.ts';

/**
 * IOMMU_VDEVICE_ALLOC {viommu_id, dev_id, virt_id}: the vDEVICE id. -ENOENT no such vIOMMU or
 * device; -EINVAL a virt_id past 32 bits (the TSM takes the guest's BDF); -EEXIST the device
 * already has a vDEVICE on this vIOMMU, or the virt_id is taken.
 */
export function iommuVdeviceAlloc(
  _m: HostMachine,
  h: HostState,
  a: { viommuId: number; devId: number; virtId: bigint },
): HostOutcome<number> {
  const op = 'IOMMU_VDEVICE_ALLOC';
  const args = { viommu_id: a.viommuId, dev_id: a.devId, virt_id: a.virtId };
  if (!iommufdObject(h, a.viommuId, 'viommu')) {
    return hostErr('iommufd', op, args, 'ENOENT', `no vIOMMU ${a.viommuId}`);
  }
  if (!iommufdObject(h, a.devId, 'device')) {
    return hostErr('iommufd', op, args, 'ENOENT', `no device ${a.devId}`);
  }
  if (a.virtId < 0n || a.virtId > 0xffffffffn) {
    return hostErr('iommufd', op, args, 'EINVAL', `virt_id 0x${a.virtId.toString(16)}`);
  }
  for (const o of h.iommufd.objects.values()) {
    if (o.type !== 'vdevice' || o.viommu !== a.viommuId) continue;
    if (o.devId === a.devId || o.virtId === a.virtId) {
      return hostErr('iommufd', op, args, 'EEXIST', `vDEVICE ${o.id} has it`);
    }
  }
  const id = h.iommufd.nextId++;
  h.iommufd.objects.set(id, {
    type: 'vdevice',
    id,
    viommu: a.viommuId,
    devId: a.devId,
    virtId: a.virtId,
    tsmBound: false,
  });
  return hostOk('iommufd', op, { ...args, out_vdevice_id: id }, id);
}
