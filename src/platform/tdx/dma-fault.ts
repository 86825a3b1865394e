/**
 * A refused T=1 DMA of a DEVIF the TD runs, as VT-d's DMA remapping fault reported to the
 * TDX module (switch droppedDma 'report', tsm/dma-fault.ts). Beside the core's ERROR the
 * DEVIF turns invalid, as when the module finds the TDI in ERROR (tdisp.c): the TD reads
 * both with TDG.DEVIF.RD, and STOP is the way out.
 */
import type { TransactionEvent } from '../events.ts';
import type { Outcome } from '../result.ts';
import { type TdiRunning, tsmDmaFault } from '../tsm/dma-fault.ts';
import type { TdxPlatform } from './state.ts';

export function tdxDmaFault(
  p: TdxPlatform,
  ev: TransactionEvent,
  running: TdiRunning,
): Outcome<boolean> {
  const r = tsmDmaFault(p, ev, 'DMAR_FAULT', running);
  const devif = r.result && ev.rid !== undefined ? p.vendor.devifs.get(ev.rid) : undefined;
  if (devif) devif.valid = false;
  return r;
}
