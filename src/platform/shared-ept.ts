/**
 * The shared (untrusted) EPT of each confidential VM: KVM's ordinary EPT for GPAs with the
 * shared bit set (TDX's shared EPT, the NPT's C-bit-clear mappings on AMD, the unprotected
 * IPA half on Arm). The host programs it freely (KVM_SET_USER_MEMORY_REGION2 slots, including
 * dma-buf slots of shared BARs); the fabric refuses at access time whatever it must not reach.
 */

import { pfnKey, type VmId } from './ids.ts';
import { type PfnTable, pfnEmpty, pfnTable } from './pfn-table.ts';
import { done, type OpResult, type Outcome, refuse } from './result.ts';

/** Per VM: guest frame (shared bit clear; a number key, ids.ts Pfn) -> host page or BAR page. */
export type SharedEpts = Map<VmId, PfnTable<bigint>>;

export type SharedEptError = 'EEXIST' | 'ENOENT';

/** Maps shared `gfn` of `vm` to host frame `hpfn` (EEXIST: already mapped). */
export function sharedEptMap(
  epts: SharedEpts,
  vm: VmId,
  gfn: bigint,
  hpfn: bigint,
): Outcome<OpResult<object, SharedEptError>> {
  const cur = epts.get(vm)?.[pfnKey(gfn)];
  if (cur !== undefined) {
    return refuse(
      'map',
      'EEXIST',
      `${vm} shared gfn 0x${gfn.toString(16)} maps 0x${cur.toString(16)}`,
    );
  }
  let t = epts.get(vm);
  if (!t) {
    t = pfnTable();
    epts.set(vm, t);
  }
  t[pfnKey(gfn)] = hpfn;
  return done({}, { kind: 'shared-ept', op: 'map', vm, gfn, hpfn });
}

/** Unmaps shared `gfn` of `vm` (ENOENT: not mapped). */
export function sharedEptUnmap(
  epts: SharedEpts,
  vm: VmId,
  gfn: bigint,
): Outcome<OpResult<object, SharedEptError>> {
  const t = epts.get(vm);
  if (t?.[pfnKey(gfn)] === undefined)
    return refuse('unmap', 'ENOENT', `${vm} shared gfn 0x${gfn.toString(16)} is not mapped`);
  delete t[pfnKey(gfn)];
  if (pfnEmpty(t)) epts.delete(vm);
  return done({}, { kind: 'shared-ept', op: 'unmap', vm, gfn });
}
