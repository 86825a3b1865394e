/**
 * The host's page allocator over the firmware's memory map (mm/page_alloc for this model):
 * the frames that back shared memslots and guest_memfd pages. Finding frames writes nothing,
 * so an operation can find what it needs, make its firmware calls, and take the frames only
 * when it goes through (a refused operation changes nothing).
 */
import { PAGE_SHIFT, pfnKey } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import type { HostState } from '../state.ts';

/** `n` free host frames, lowest first, not counting `also` (frames already picked); undefined if memory is short. */
export function hostPagesFind(
  m: HostMachine,
  h: HostState,
  n: number,
  also: ReadonlySet<bigint> = new Set(),
): bigint[] | undefined {
  const out: bigint[] = [];
  if (n === 0) return out;
  for (const r of m.memoryMap) {
    const first = (r.base + (1n << PAGE_SHIFT) - 1n) >> PAGE_SHIFT;
    const end = (r.base + r.size) >> PAGE_SHIFT;
    for (let pfn = first; pfn < end; pfn++) {
      if (h.kvm.hostPages[pfnKey(pfn)] !== undefined || also.has(pfn)) continue;
      out.push(pfn);
      if (out.length === n) return out;
    }
  }
  return undefined;
}

/** Marks `pfns` in use (found by hostPagesFind). */
export function hostPagesTake(h: HostState, pfns: readonly bigint[]): void {
  for (const pfn of pfns) h.kvm.hostPages[pfnKey(pfn)] = true;
}

/** Gives `pfns` back. */
export function hostPagesFree(h: HostState, pfns: Iterable<bigint>): void {
  for (const pfn of pfns) delete h.kvm.hostPages[pfnKey(pfn)];
}
