/**
 * The VDEV's DMA state and the trusted IOMMU context behind it (RMM specification 1.1,
 * A9.4.4.2): VDEV_DMA_ENABLED means the SMMU lets the device reach the Realm's Protected IPA
 * space. The RMM programs the stream table itself, so enabling is the core's context add
 * and accept in one step, and disabling (RSI_VDEV_DMA_DISABLE, RMI_VDEV_UNLOCK, a VDEV that
 * enters VDEV_ERROR) blocks and removes it.
 */
import type { TsmEnv } from '../tsm/link.ts';
import { ok, type TsmResult } from '../tsm/result.ts';
import { tsmDmaAccept, tsmDmaAdd, tsmDmaBlock, tsmDmaRemove } from '../tsm/trusted-dma.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import type { Vdev } from './state.ts';

/** Adds and accepts the VDEV's trusted DMA context; refused (nothing changed) by the core. */
export function vdevDmaOn(p: CcaPlatform, _env: TsmEnv, v: Vdev): TsmResult {
  if (v.dma === 'VDEV_DMA_ENABLED') return ok;
  const a = tsmDmaAdd(p, v.realm, v.tdiId);
  if (!a.ok) return a;
  const c = tsmDmaAccept(p, v.realm, v.tdiId);
  if (!c.ok) {
    tsmDmaBlock(p, v.tdiId);
    tsmDmaRemove(p, v.tdiId);
    return c;
  }
  v.dma = 'VDEV_DMA_ENABLED';
  return ok;
}

/** Blocks and removes the VDEV's trusted DMA context, if there is one. */
export function vdevDmaOff(p: CcaPlatform, v: Vdev): void {
  const ctx = p.hw.iommu.secure.get(v.tdiId);
  if (ctx && ctx.state !== 'blocked') tsmDmaBlock(p, v.tdiId);
  if (ctx) tsmDmaRemove(p, v.tdiId);
  v.dma = 'VDEV_DMA_DISABLED';
}
