/**
 * The IOMMU (Intel VT-d, AMD-Vi, Arm SMMU): untrusted translation tables the host programs
 * (iommufd calls these; the Linux IOMMU API names are the operation names), and the trusted
 * DMA contexts only the TSM programs (iommu-secure.ts: TDX Connect's DMAR, SEV-TIO's sDTE).
 *
 * T=0 DMA translates through the domain the requester is attached to; T=1 DMA of a TDI
 * translates through its VM's secure EPT, the table the CPU uses, or through the IOMMU's own
 * mirror of it (SYSTEM.md open question 8, switch dmaTable; iommu-mirror.ts). The host can
 * only map shared memory: a private page is refused here as the firmware refuses it (EPERM),
 * and the fabric re-checks the owner on every access.
 */

import { pfnKey, type Rid, type VmId } from './ids.ts';
import type { MirrorTable } from './iommu-mirror.ts';
import { type MemoryState, pageOwner } from './memory.ts';
import { type PfnTable, pfnTable } from './pfn-table.ts';
import { done, type OpResult, type Outcome, refuse } from './result.ts';
import type { DmaTable } from './switches.ts';

export interface IommuMapping {
  hpfn: bigint;
  writable: boolean;
}

/** A TDI's trusted DMA context: added by the TSM, accepted by the guest, blocked on unbind. */
export interface SecureDmaContext {
  vm: VmId;
  state: 'added' | 'accepted' | 'blocked';
}

export interface IommuState {
  /** Host-programmed domains: IOVA page (a number key, ids.ts Pfn) -> host page. */
  domains: Map<number, PfnTable<IommuMapping>>;
  /** Which domain each requester id translates through. */
  attached: Map<Rid, number>;
  /** The id the next iommu_domain_alloc returns. */
  nextDomain: number;
  /** Trusted DMA contexts by requester id (TSM only, iommu-secure.ts). */
  secure: Map<Rid, SecureDmaContext>;
  /**
   * Where T=1 DMA translates (SYSTEM.md open question 8, switch dmaTable): the VM's secure EPT
   * ('shared') or `mirrors` ('mirrored'). Set when the platform is built, as hardware is.
   */
  secureDmaTable: DmaTable;
  /** Under 'mirrored': each VM's table while a context of it is accepted (iommu-mirror.ts). */
  mirrors: Map<VmId, MirrorTable>;
}

export type IommuError = 'ENOENT' | 'EBUSY' | 'EEXIST' | 'EFAULT' | 'EPERM';

type IommuOutcome<T extends object = object> = Outcome<OpResult<T, IommuError>>;

export function createIommu(secureDmaTable: DmaTable = 'shared'): IommuState {
  return {
    domains: new Map(),
    attached: new Map(),
    nextDomain: 1,
    secure: new Map(),
    secureDmaTable,
    mirrors: new Map(),
  };
}

/** iommu_domain_alloc: a new, empty translation domain. */
export function iommuDomainAlloc(iommu: IommuState): IommuOutcome<{ domain: number }> {
  const domain = iommu.nextDomain++;
  iommu.domains.set(domain, pfnTable());
  return done({ domain }, { kind: 'iommu', op: 'iommu_domain_alloc', domain });
}

/** iommu_attach_device: `rid`'s T=0 DMA translates through `domain` (EBUSY: attached elsewhere). */
export function iommuAttach(iommu: IommuState, rid: Rid, domain: number): IommuOutcome {
  const op = 'iommu_attach_device';
  if (!iommu.domains.has(domain)) return refuse(op, 'ENOENT', `no domain ${domain}`);
  const cur = iommu.attached.get(rid);
  if (cur !== undefined && cur !== domain) {
    return refuse(op, 'EBUSY', `requester 0x${rid.toString(16)} is attached to domain ${cur}`);
  }
  iommu.attached.set(rid, domain);
  return done({}, { kind: 'iommu', op, domain, rid });
}

/**
 * iommu_detach_device: the requester's untrusted DMA no longer translates (iommufd moves a
 * device it unbinds to the blocking domain). ENOENT when it is attached to nothing.
 */
export function iommuDetach(iommu: IommuState, rid: Rid): IommuOutcome {
  const op = 'iommu_detach_device';
  const domain = iommu.attached.get(rid);
  if (domain === undefined)
    return refuse(op, 'ENOENT', `requester 0x${rid.toString(16)} is attached to no domain`);
  iommu.attached.delete(rid);
  return done({}, { kind: 'iommu', op, domain, rid });
}

/**
 * iommu_map of one page: refuses an IOVA already mapped (EEXIST), a page that is not host
 * memory (EFAULT) and any page that is not shared (EPERM: the host cannot map private or
 * firmware memory for DMA).
 */
export function iommuMap(
  iommu: IommuState,
  mem: MemoryState,
  domain: number,
  iovaPfn: bigint,
  hpfn: bigint,
  writable: boolean,
): IommuOutcome {
  const op = 'iommu_map';
  const table = iommu.domains.get(domain);
  if (!table) return refuse(op, 'ENOENT', `no domain ${domain}`);
  if (table[pfnKey(iovaPfn)] !== undefined) {
    return refuse(op, 'EEXIST', `domain ${domain} iova page 0x${iovaPfn.toString(16)} is mapped`);
  }
  const owner = pageOwner(mem, pfnKey(hpfn));
  const page = `page 0x${hpfn.toString(16)}`;
  if (!owner) return refuse(op, 'EFAULT', `${page} is not host memory`);
  if (owner.kind !== 'shared') {
    const whose = owner.kind === 'private' ? `private to ${owner.vm}` : "the firmware's";
    return refuse(op, 'EPERM', `${page} is ${whose}: the host maps only shared memory`);
  }
  table[pfnKey(iovaPfn)] = { hpfn, writable };
  return done({}, { kind: 'iommu', op, domain, iovaPfn, hpfn, writable });
}

/** iommu_unmap of one page (ENOENT: no such domain or nothing mapped there). */
export function iommuUnmap(iommu: IommuState, domain: number, iovaPfn: bigint): IommuOutcome {
  const op = 'iommu_unmap';
  const table = iommu.domains.get(domain);
  if (!table) return refuse(op, 'ENOENT', `no domain ${domain}`);
  if (table[pfnKey(iovaPfn)] === undefined) {
    return refuse(
      op,
      'ENOENT',
      `domain ${domain} iova page 0x${iovaPfn.toString(16)} is not mapped`,
    );
  }
  delete table[pfnKey(iovaPfn)];
  return done({}, { kind: 'iommu', op, domain, iovaPfn });
}
