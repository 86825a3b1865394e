/**
 * IO address spaces (drivers/iommu/iommufd/ioas.c, io_pagetable.c): IOMMU_IOAS_ALLOC,
 * IOMMU_IOAS_MAP and IOMMU_IOAS_UNMAP. An IOAS records what the VMM asked; every HWPT
 * allocated from it is an IOMMU domain holding the same pages (iopt_fill_domain). A map that
 * the hardware refuses on any domain (a page that is not shared host memory) is undone on
 * every domain, as iopt unwinds, so a refused map changes nothing.
 *
 * The model has no process page tables: `user_va` is the host physical address of the VMM's
 * pinned memory, which must lie in the firmware's memory map (pin_user_pages: -EFAULT).
 */
import type { PlatformEvent } from '../../platform/events.ts';
import { PAGE_SHIFT } from '../../platform/ids.ts';
import { iommuUnmap } from '../../platform/iommu.ts';
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { hwptsOf, iommufdObject } from './object.ts';
import {
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
} from './uapi.ts';

const PAGE = 1n << PAGE_SHIFT;
const compare = (x: bigint, y: bigint): number => (x < y ? -1 : x > y ? 1 : 0);
const hex = (n: bigint): string => `0x${n.toString(16)}`;

export interface PageMap {
  iovaPfn: bigint;
  hpfn: bigint;
  writable: boolean;
}

/**
 * Maps `pages` into every domain of `domains`, or none: on the first hardware refusal the
 * pages already mapped are unmapped again. The refusal's error and reason, or undefined.
 */
export function domainsMap(
  m: HostMachine,
  domains: readonly number[],
  pages: readonly PageMap[],
  events: PlatformEvent[],
): { error: string; reason: string } | undefined {
  const done: [number, bigint][] = [];
  for (const domain of domains) {
    for (const p of pages) {
      const r = m.iommuMap(domain, p.iovaPfn, p.hpfn, p.writable);
      events.push(...r.events);
      if (!r.result.ok) {
        for (const [d, iova] of done.reverse()) events.push(...iommuUnmap(m.iommu, d, iova).events);
        return { error: r.result.error, reason: r.result.reason };
      }
      done.push([domain, p.iovaPfn]);
    }
  }
  return undefined;
}

/** IOMMU_IOAS_ALLOC: a new, empty IOAS; its id. -EBADF when no iommufd is open. */
export function iommuIoasAlloc(_m: HostMachine, h: HostState): HostOutcome<number> {
  const op = 'IOMMU_IOAS_ALLOC';
  if (h.iommufd.fd === 0) return hostErr('iommufd', op, {}, 'EBADF', 'no iommufd is open');
  const id = h.iommufd.nextId++;
  h.iommufd.objects.set(id, { type: 'ioas', id, maps: new Map(), writable: new Set() });
  return hostOk('iommufd', op, { out_ioas_id: id }, id);
}

function inMemory(m: HostMachine, base: bigint, length: bigint): boolean {
  return m.memoryMap.some((r) => base >= r.base && base + length <= r.base + r.size);
}

/**
 * IOMMU_IOAS_MAP {ioas_id, flags, user_va, length, iova}: the IOVA the pages are mapped at.
 * -ENOENT no such IOAS; -EINVAL unknown flags, neither READABLE nor WRITEABLE, zero length or
 * an unaligned address; -EFAULT user memory outside host memory; -EEXIST a FIXED_IOVA range
 * overlapping a mapping; -ENOSPC no free IOVA range; the hardware's refusal (-EPERM for a page
 * that is not shared) otherwise.
 */
export function iommuIoasMap(
  m: HostMachine,
  h: HostState,
  a: { ioasId: number; flags: number; userVa: bigint; length: bigint; iova?: bigint },
): HostOutcome<bigint> {
  const op = 'IOMMU_IOAS_MAP';
  const args = {
    ioas_id: a.ioasId,
    flags: a.flags,
    user_va: a.userVa,
    length: a.length,
    ...(a.iova === undefined ? {} : { iova: a.iova }),
  };
  const refuse = (errno: Parameters<typeof hostErr>[3], detail: string, ev: PlatformEvent[] = []) =>
    hostErr('iommufd', op, args, errno, detail, ev);
  const ioas = iommufdObject(h, a.ioasId, 'ioas');
  if (!ioas) return refuse('ENOENT', `no IOAS ${a.ioasId}`);
  const known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
  if (a.flags & ~known) return refuse('EINVAL', `unknown flags 0x${a.flags.toString(16)}`);
  if (!(a.flags & (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE))) {
    return refuse('EINVAL', 'neither READABLE nor WRITEABLE');
  }
  const fixed = (a.flags & IOMMU_IOAS_MAP_FIXED_IOVA) !== 0;
  const iovaIn = a.iova ?? 0n;
  if (a.length <= 0n || (a.userVa | a.length | (fixed ? iovaIn : 0n)) % PAGE !== 0n) {
    return refuse('EINVAL', 'zero length or not page aligned');
  }
  if (!inMemory(m, a.userVa, a.length)) {
    return refuse('EFAULT', `${hex(a.userVa)}+${hex(a.length)} is not host memory`);
  }
  const n = a.length >> PAGE_SHIFT;
  const free = (start: bigint): bigint | undefined => {
    for (let i = 0n; i < n; i++) if (ioas.maps.has(start + i)) return start + i;
    return undefined;
  };
  let first: bigint;
  if (fixed) {
    first = iovaIn >> PAGE_SHIFT;
    const busy = free(first);
    if (busy !== undefined) return refuse('EEXIST', `IOVA ${hex(busy << PAGE_SHIFT)} is mapped`);
  } else {
    // The lowest free range (iopt_alloc_iova); the 64-bit IOVA space is far from full here.
    first = 0n;
    for (let busy = free(first); busy !== undefined; busy = free(first)) first = busy + 1n;
    if ((first + n) << PAGE_SHIFT > 1n << 64n) return refuse('ENOSPC', 'no free IOVA range');
  }
  const writable = (a.flags & IOMMU_IOAS_MAP_WRITEABLE) !== 0;
  const pages: PageMap[] = [];
  for (let i = 0n; i < n; i++) {
    pages.push({ iovaPfn: first + i, hpfn: (a.userVa >> PAGE_SHIFT) + i, writable });
  }
  const events: PlatformEvent[] = [];
  const domains = hwptsOf(h, ioas.id).map((w) => w.domain);
  const bad = domainsMap(m, domains, pages, events);
  if (bad) return refuse(bad.error as 'EPERM', bad.reason, events);
  for (const p of pages) {
    ioas.maps.set(p.iovaPfn, p.hpfn);
    if (writable) ioas.writable.add(p.iovaPfn);
  }
  const iova = first << PAGE_SHIFT;
  return hostOk('iommufd', op, { ...args, out_iova: iova }, iova, events);
}

/**
 * IOMMU_IOAS_UNMAP {ioas_id, iova, length}: the bytes unmapped, from the IOAS and every
 * domain of it. -ENOENT no such IOAS or nothing mapped in the range; -EINVAL zero length or
 * unaligned.
 */
export function iommuIoasUnmap(
  m: HostMachine,
  h: HostState,
  a: { ioasId: number; iova: bigint; length: bigint },
): HostOutcome<bigint> {
  const op = 'IOMMU_IOAS_UNMAP';
  const args = { ioas_id: a.ioasId, iova: a.iova, length: a.length };
  const ioas = iommufdObject(h, a.ioasId, 'ioas');
  if (!ioas) return hostErr('iommufd', op, args, 'ENOENT', `no IOAS ${a.ioasId}`);
  if (a.length <= 0n || (a.iova | a.length) % PAGE !== 0n) {
    return hostErr('iommufd', op, args, 'EINVAL', 'zero length or not page aligned');
  }
  const first = a.iova >> PAGE_SHIFT;
  const end = (a.iova + a.length) >> PAGE_SHIFT;
  // The mapped pages in the range (the range may be the whole IOVA space).
  const iovas = [...ioas.maps.keys()].filter((p) => p >= first && p < end).sort(compare);
  if (iovas.length === 0) return hostErr('iommufd', op, args, 'ENOENT', 'nothing mapped there');
  const events: PlatformEvent[] = [];
  for (const w of hwptsOf(h, ioas.id)) {
    for (const iova of iovas) events.push(...iommuUnmap(m.iommu, w.domain, iova).events);
  }
  for (const iova of iovas) {
    ioas.maps.delete(iova);
    ioas.writable.delete(iova);
  }
  const bytes = BigInt(iovas.length) << PAGE_SHIFT;
  return hostOk('iommufd', op, { ...args, unmapped: bytes }, bytes, events);
}
