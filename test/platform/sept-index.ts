/** A check the property tests share: the secure EPT's MMIO index agrees with its entries. */
import assert from 'node:assert/strict';
import { type PfnTable, pfnValues } from '../../src/platform/pfn-table.ts';
import type { SeptState } from '../../src/platform/sept.ts';

/** The secure EPT's index of MMIO targets counts exactly its entries not removed. */
export function assertMmioIndex(sept: SeptState, why: string): void {
  const want: PfnTable<number> = {};
  for (const e of pfnValues(sept.entries)) {
    if (e.target.kind !== 'mmio' || e.state === 'removed') continue;
    const k = Number(e.target.hpfn);
    want[k] = (want[k] ?? 0) + 1;
  }
  assert.deepEqual(sept.mmioTargets, want, `${why}: ${sept.vm}'s MMIO index`);
}
