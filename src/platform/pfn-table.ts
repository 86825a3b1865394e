/**
 * A table keyed by page frame number (ids.ts Pfn), held as a plain object rather than a Map:
 * `t[pfn]` reads (undefined when absent), `t[pfn] = v` writes, `delete t[pfn]` removes.
 *
 * Why not a Map: V8's Map leaves a deleted entry in its hash bucket's chain until the whole
 * table is rehashed, which happens only when it fills. Mapping and unmapping the same page over
 * and over (a guest's map/unmap loop, the explorer's walks) adds one dead entry to that page's
 * chain each time, so its lookup walks them all: O(table size) per map (38 us against 1 us at
 * 16 Ki entries). An object's element dictionary reuses the slot. Either is plain data
 * (structuredClone, world/hash.ts).
 */
import type { Pfn } from './ids.ts';

export type PfnTable<T> = { [pfn: number]: T | undefined };

export const pfnTable = <T>(): PfnTable<T> => ({});

/** The entries, frame ascending. */
export function pfnEntries<T>(t: PfnTable<T>): [Pfn, T][] {
  const out: [Pfn, T][] = [];
  for (const k in t) out.push([Number(k), t[k] as T]);
  return out;
}

/** The values, frame ascending. */
export const pfnValues = <T>(t: PfnTable<T>): T[] => Object.values(t) as T[];

/** The frames, ascending. */
export const pfnKeys = (t: PfnTable<unknown>): Pfn[] => Object.keys(t).map(Number);

/** Whether the table has no entry (O(1)). */
export function pfnEmpty(t: PfnTable<unknown>): boolean {
  for (const _ in t) return false;
  return true;
}

/** Number of entries (O(n): for checks and reports, not per access). */
export const pfnCount = (t: PfnTable<unknown>): number => Object.keys(t).length;

/** The frames as the ABI's bigints (gfn, hpfn), ascending. */
export const pfnFrames = (t: PfnTable<unknown>): bigint[] => Object.keys(t).map(BigInt);
