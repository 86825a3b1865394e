/**
 * Trusted DMA (SYSTEM.md sections 3-5; TDX TDH.DMAR.ADD / BLOCK / REMOVE and the guest's
 * TDG.DMAR.ACCEPT, SEV-TIO's sDTE written on TIO_MSG_SDTE_WRITE_REQ, CCA's VDEV DMA
 * enable): the host asks for a TDI's trusted IOMMU context, but it carries T=1 DMA only
 * after the guest the TDI is bound to accepted it, and only while the TDI is CONFIG_LOCKED
 * or RUN. The TDI's record follows the context, so unbind finds it.
 */
import { secureDmaAccept, secureDmaAdd, secureDmaBlock, secureDmaRemove } from '../iommu-secure.ts';
import type { Platform } from '../platform.ts';
import { ok, refuse, type TsmResult } from './result.ts';
import type { VmId } from './state.ts';
import { boundTdi } from './tdi.ts';

const failed = (r: { ok: false; error: string; reason: string }): TsmResult =>
  refuse('dma-state', `${r.error}: ${r.reason}`);

/** The host asks for the TDI's trusted DMA context (not yet usable). */
export function tsmDmaAdd(p: Platform, vm: VmId, rid: number): TsmResult {
  const t = boundTdi(p, rid, vm);
  if (!t.ok) return t;
  if (t.value.state !== 'CONFIG_LOCKED' && t.value.state !== 'RUN') {
    return refuse('tdi-state', `TDI ${rid} is ${t.value.state}, needs CONFIG_LOCKED or RUN`);
  }
  const r = secureDmaAdd(p.hw.iommu, rid, vm);
  if (!r.result.ok) return failed(r.result);
  t.value.dma = 'added';
  // Seeded flaw (world/flaws.ts): the context is usable on the host's word alone.
  if (p.tsm.flaws?.includes('trusted-dma-before-accept')) {
    const a = secureDmaAccept(p.hw.iommu, rid, vm, p.hw.septs.get(vm));
    if (a.result.ok) t.value.dma = 'accepted';
  }
  return ok;
}

/** The guest the TDI is bound to accepts its DMA. */
export function tsmDmaAccept(p: Platform, vm: VmId, rid: number): TsmResult {
  const t = boundTdi(p, rid, vm);
  if (!t.ok) return t;
  const r = secureDmaAccept(p.hw.iommu, rid, vm, p.hw.septs.get(vm));
  if (!r.result.ok) return failed(r.result);
  t.value.dma = 'accepted';
  return ok;
}

/** No more T=1 DMA from the TDI (first step of taking it away). */
export function tsmDmaBlock(p: Platform, rid: number): TsmResult {
  const t = p.tsm.tdis.get(rid);
  if (!t) return refuse('no-such-tdi', `no TDI record ${rid}`);
  const r = secureDmaBlock(p.hw.iommu, rid);
  if (!r.result.ok) return failed(r.result);
  t.dma = 'blocked';
  return ok;
}

/** Frees a blocked context. */
export function tsmDmaRemove(p: Platform, rid: number): TsmResult {
  const t = p.tsm.tdis.get(rid);
  if (!t) return refuse('no-such-tdi', `no TDI record ${rid}`);
  const r = secureDmaRemove(p.hw.iommu, rid);
  if (!r.result.ok) return failed(r.result);
  t.dma = 'none';
  return ok;
}
