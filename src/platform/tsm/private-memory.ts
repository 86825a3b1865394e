/**
 * Private memory of a confidential VM (TDX TDH.MEM.PAGE.ADD / AUG / REMOVE, SEV RMPUPDATE
 * via SNP_LAUNCH_UPDATE and page state changes, CCA RMI_DATA_CREATE / DESTROY): a host page
 * becomes private to exactly one VM and is mapped in that VM's secure EPT; removal needs the
 * entry blocked and the block tracked, and the page goes back to shared scrubbed.
 */

import { assignPrivate, ownerOf, releaseToShared } from '../memory.ts';
import type { Platform } from '../platform.ts';
import { septAccept, septAdd, septBlock, septEntry, septRemove } from '../sept.ts';
import { hwRefusal, septEntryOp, vmSept } from './hw-refusal.ts';
import { ok, refuse, type TsmResult } from './result.ts';
import type { VmId } from './state.ts';

/** Makes host page `hpfn` private to `vm` at `gfn` (pending until accepted once finalized). */
export function tsmMemAdd(p: Platform, vm: VmId, gfn: bigint, hpfn: bigint): TsmResult {
  const s = vmSept(p, vm);
  if (!s.ok) return s;
  if (septEntry(s.value, gfn)) {
    return refuse('page-mapped', `${vm} gfn 0x${gfn.toString(16)} is mapped`);
  }
  const o = ownerOf(p.hw.memory, hpfn);
  if (o?.kind !== 'shared') {
    return refuse('page-owner', `page 0x${hpfn.toString(16)} is ${o ? o.kind : 'not memory'}`);
  }
  assignPrivate(p.hw.memory, hpfn, vm);
  septAdd(s.value, gfn, { kind: 'memory', hpfn });
  return ok;
}

/**
 * Removes a private page whose entry is blocked and tracked; the page returns to shared,
 * scrubbed. `mode` 'destroy' leaves the entry as removed (CCA: the realm's next access is
 * a fatal abort).
 */
export function tsmMemRemove(
  p: Platform,
  vm: VmId,
  gfn: bigint,
  mode: 'delete' | 'destroy' = 'delete',
): TsmResult {
  const s = vmSept(p, vm);
  if (!s.ok) return s;
  const e = septEntry(s.value, gfn);
  if (e && e.target.kind !== 'memory') {
    return refuse('sept-state', `${vm} gfn 0x${gfn.toString(16)} maps MMIO`);
  }
  const r = septRemove(s.value, gfn, mode);
  if (!r.result.ok) return hwRefusal(r.result);
  if (e) releaseToShared(p.hw.memory, e.target.hpfn);
  return ok;
}

/** The guest accepts a pending private page (TDG.MEM.PAGE.ACCEPT, RSI_IPA_STATE_SET, PVALIDATE). */
export function tsmMemAccept(p: Platform, vm: VmId, gfn: bigint): TsmResult {
  return septEntryOp(p, vm, gfn, 'memory', septAccept);
}

/** Blocks a private page (no new translations; removal needs a tracked flush after this). */
export function tsmMemBlock(p: Platform, vm: VmId, gfn: bigint): TsmResult {
  return septEntryOp(p, vm, gfn, 'memory', septBlock);
}
