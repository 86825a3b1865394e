/**
 * Private memory of a confidential VM (TDX TDH.MEM.PAGE.ADD / AUG / REMOVE, SEV RMPUPDATE
 * via SNP_LAUNCH_UPDATE and page state changes, CCA RMI_DATA_CREATE / DESTROY): a host page
 * becomes private to exactly one VM and is mapped in that VM's secure EPT; removal needs the
 * entry blocked and the block tracked, and the page goes back to shared scrubbed.
 */

import { mirrorAdd, mirrorMaps } from '../iommu-mirror.ts';
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
 * Whether the page at `gfn` of `vm` may leave the VM as far as trusted DMA goes: under the
 * switch dmaTable 'mirrored', not while the IOMMU's own table of the VM still maps it
 * (iommu-mirror.ts), refused as 'tdi-mapped' (each flavour names it: TDX_DEVIF_HAS_MAPPED_DMA,
 * RMPUPDATE_FAIL_INUSE, RMI_ERROR_DEVICE).
 *
 * The firmware refuses rather than dropping the mirror's entry in the same call. Refusing is
 * the rule every flavour already keeps for its other mappings (TDH.DEVIF.REMOVE refuses while
 * DMA is mapped, TDH.MMIO.UNMAP while the TDI is locked) and asks for no call that does not
 * exist: the host clears the trusted DMA context first (TDH.DMAR.BLOCK, an sDTE with V=0, a
 * VDEV's DMA disabled), which drops the whole mirror. Dropping one entry would need the page
 * removal to invalidate the IOMMU's TLB too, which no flavour's removal call is specified to
 * do (TDH.MEM.TRACK tracks the CPUs'). The price: while a guest's DMA is accepted the host
 * takes none of its mirrored pages back without taking the device's trusted DMA away.
 * The seeded flaw 'tsm-release-mirrored-page' skips the check.
 */
export function tsmMemReleasable(p: Platform, vm: VmId, gfn: bigint): TsmResult {
  const iommu = p.hw.iommu;
  if (iommu.secureDmaTable !== 'mirrored' || !mirrorMaps(iommu, vm, gfn)) return ok;
  if (p.tsm.flaws?.includes('tsm-release-mirrored-page')) return ok;
  return refuse(
    'tdi-mapped',
    `${vm} gfn 0x${gfn.toString(16)} is still mapped for trusted DMA in the IOMMU's mirror`,
  );
}

/**
 * Removes a private page whose entry is blocked and tracked; the page returns to shared,
 * scrubbed. `mode` 'destroy' leaves the entry as removed (CCA: the realm's next access is
 * a fatal abort). Refused while trusted DMA may still reach it (tsmMemReleasable).
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
  const dma = tsmMemReleasable(p, vm, gfn);
  if (!dma.ok) return dma;
  const r = septRemove(s.value, gfn, mode);
  if (!r.result.ok) return hwRefusal(r.result);
  if (e) releaseToShared(p.hw.memory, e.target.hpfn);
  return ok;
}

/**
 * The guest accepts a pending private page (TDG.MEM.PAGE.ACCEPT, RSI_IPA_STATE_SET, PVALIDATE);
 * a mirrored IOMMU table of the VM gains it in the same call (iommu-mirror.ts).
 */
export function tsmMemAccept(p: Platform, vm: VmId, gfn: bigint): TsmResult {
  const r = septEntryOp(p, vm, gfn, 'memory', septAccept);
  const e = r.ok ? septEntry(p.hw.septs.get(vm), gfn) : undefined;
  if (e) mirrorAdd(p.hw.iommu, vm, gfn, e.target.hpfn);
  return r;
}

/** Blocks a private page (no new translations; removal needs a tracked flush after this). */
export function tsmMemBlock(p: Platform, vm: VmId, gfn: bigint): TsmResult {
  return septEntryOp(p, vm, gfn, 'memory', septBlock);
}
