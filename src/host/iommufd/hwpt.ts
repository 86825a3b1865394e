/**
 * IOMMU_HWPT_ALLOC (drivers/iommu/iommufd/hw_pagetable.c): a page table (an IOMMU domain) for
 * device `dev_id` over IOAS `pt_id`, filled with the IOAS's pages. The device is attached to
 * it with VFIO_DEVICE_ATTACH_IOMMUFD_PT (vfio/cdev.ts).
 */
import type { PlatformEvent } from '../../platform/events.ts';
import { iommuDomainAlloc } from '../../platform/iommu.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { domainsMap, type PageMap } from './ioas.ts';
import { iommufdObject } from './object.ts';

/**
 * IOMMU_HWPT_ALLOC {flags, dev_id, pt_id}: the HWPT id. -ENOENT no such device or IOAS,
 * -EOPNOTSUPP flags set (no nesting, dirty tracking or PASID in this model), the hardware's
 * refusal of one of the IOAS's pages otherwise (the new domain is freed again).
 */
export function iommuHwptAlloc(
  m: HostMachine,
  h: HostState,
  a: { flags: number; devId: number; ptId: number },
): HostOutcome<number> {
  const op = 'IOMMU_HWPT_ALLOC';
  const args = { flags: a.flags, dev_id: a.devId, pt_id: a.ptId };
  if (!iommufdObject(h, a.devId, 'device')) {
    return hostErr('iommufd', op, args, 'ENOENT', `no device ${a.devId}`);
  }
  const ioas = iommufdObject(h, a.ptId, 'ioas');
  if (!ioas) return hostErr('iommufd', op, args, 'ENOENT', `no IOAS ${a.ptId}`);
  if (a.flags !== 0) return hostErr('iommufd', op, args, 'EOPNOTSUPP', 'flags');
  const events: PlatformEvent[] = [];
  const alloc = iommuDomainAlloc(m.iommu);
  events.push(...alloc.events);
  if (!alloc.result.ok) return hostErr('iommufd', op, args, 'ENOMEM', alloc.result.reason, events);
  const domain = alloc.result.domain;
  const pages: PageMap[] = [...ioas.maps].map(([iovaPfn, hpfn]) => ({
    iovaPfn,
    hpfn,
    writable: ioas.writable.has(iovaPfn),
  }));
  const bad = domainsMap(m, [domain], pages, events);
  if (bad) {
    // iommu_domain_free: the domain and its number go back.
    m.iommu.domains.delete(domain);
    m.iommu.nextDomain = domain;
    return hostErr('iommufd', op, args, bad.error as 'EPERM', bad.reason, events);
  }
  const id = h.iommufd.nextId++;
  h.iommufd.objects.set(id, { type: 'hwpt', id, ioas: ioas.id, domain, devId: a.devId });
  return hostOk('iommufd', op, { ...args, out_hwpt_id: id }, id, events);
}
