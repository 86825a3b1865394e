/**
 * The iommufd file and its object table (drivers/iommu/iommufd/main.c): opening /dev/iommu,
 * and iommufd_get_object, which answers -ENOENT for an id that is absent or of another type.
 */
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import { allocFd, type HostState } from '../state.ts';
import type { IommufdObject } from './state.ts';

/** open("/dev/iommu"): this model's VMM holds one iommufd (-EBUSY for a second). */
export function iommufdOpen(h: HostState): HostOutcome<number> {
  const op = 'open';
  const args = { path: '/dev/iommu' };
  if (h.iommufd.fd !== 0) {
    return hostErr('iommufd', op, args, 'EBUSY', `iommufd is open as fd ${h.iommufd.fd}`);
  }
  h.iommufd.fd = allocFd(h);
  return hostOk('iommufd', op, { ...args, fd: h.iommufd.fd }, h.iommufd.fd);
}

/** The object `id` if it is of `type`. */
export function iommufdObject<T extends IommufdObject['type']>(
  h: HostState,
  id: number,
  type: T,
): Extract<IommufdObject, { type: T }> | undefined {
  const o = h.iommufd.objects.get(id);
  return o?.type === type ? (o as Extract<IommufdObject, { type: T }>) : undefined;
}

/** The HWPTs allocated from IOAS `ioas`. */
export function hwptsOf(h: HostState, ioas: number): Extract<IommufdObject, { type: 'hwpt' }>[] {
  const out: Extract<IommufdObject, { type: 'hwpt' }>[] = [];
  for (const o of h.iommufd.objects.values()) if (o.type === 'hwpt' && o.ioas === ioas) out.push(o);
  return out;
}
