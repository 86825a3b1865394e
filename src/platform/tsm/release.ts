/**
 * "Unlock rolls back everything" (SYSTEM.md sections 4-5, invariants 7 and 8): when a TDI
 * leaves its VM nothing private of it survives: every secure-EPT MMIO entry of the TDI is
 * blocked, flushed and removed, its trusted DMA context is blocked and removed, the START
 * nonce and the report are wiped, and the binding goes. The TDI must already be out of
 * CONFIG_LOCKED and RUN (STOP first), so the device holds no guest data in the clear.
 *
 * Flavours differ in who does this: SEV-TIO's TDI_UNBIND and CCA's VDEV_UNLOCK do it in
 * one firmware call; TDX makes the host do each step (MMIO.BLOCK, MEM.TRACK, MMIO.UNMAP,
 * DMAR.BLOCK / REMOVE) and DEVIF.REMOVE only checks that nothing is left.
 */

import { pfnKey } from '../ids.ts';
import { secureDmaBlock, secureDmaRemove } from '../iommu-secure.ts';
import type { Platform } from '../platform.ts';
import { septBlock, septRemove, septTrack } from '../sept.ts';
import { ok, refuse, type TsmResult } from './result.ts';
import type { TsmTdi } from './state.ts';
import { tdiRecord } from './tdi.ts';

/** What of the TDI is still mapped: private MMIO pages and a trusted DMA context. */
export function tdiMappings(p: Platform, t: TsmTdi): { mmio: number; dma: boolean } {
  return { mmio: t.mmio.size, dma: p.hw.iommu.secure.has(t.rid) };
}

/** Seeded flaw 'tsm-remove-with-mappings' (state.ts TsmState.flaws). */
export const removesWithMappings = (p: Platform): boolean =>
  p.tsm.flaws?.includes('tsm-remove-with-mappings') === true;

/**
 * Removes everything private of TDI `rid` and unbinds it. `mode` 'destroy' leaves the
 * secure-EPT entries removed (CCA: RIPAS DESTROYED, the realm's next access aborts).
 */
export function tsmTdiRelease(
  p: Platform,
  rid: number,
  mode: 'delete' | 'destroy' = 'delete',
): TsmResult {
  const r = tdiRecord(p, rid);
  if (!r.ok) return r;
  const t = r.value;
  if (t.state === 'CONFIG_LOCKED' || t.state === 'RUN') {
    return refuse('tdi-state', `TDI ${rid} is ${t.state}: STOP it first`);
  }
  // Seeded flaw 'tsm-remove-with-mappings': the records go, the mappings stay.
  const leaves = removesWithMappings(p);
  const sept = t.vm === undefined || leaves ? undefined : p.hw.septs.get(t.vm);
  if (sept && t.mmio.size > 0) {
    for (const gfn of t.mmio.keys()) {
      if (sept.entries[gfn]?.state !== 'blocked') septBlock(sept, BigInt(gfn));
    }
    septTrack(sept);
    for (const gfn of t.mmio.keys()) septRemove(sept, BigInt(gfn), mode);
  }
  for (const hpfn of t.mmio.values()) delete p.tsm.mmioPages[pfnKey(hpfn)];
  t.mmio.clear();
  const ctx = leaves ? undefined : p.hw.iommu.secure.get(rid);
  if (ctx) {
    if (ctx.state !== 'blocked') secureDmaBlock(p.hw.iommu, rid);
    secureDmaRemove(p.hw.iommu, rid);
  }
  t.dma = 'none';
  t.nonce = undefined;
  t.report = undefined;
  if (t.vm !== undefined) p.tsm.vms.get(t.vm)?.tdis.delete(rid);
  t.vm = undefined;
  return ok;
}
