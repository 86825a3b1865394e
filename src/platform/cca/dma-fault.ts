/**
 * A refused T=1 DMA of a VDEV the Realm runs, as an SMMUv3 event the RMM reads from the
 * Realm's event queue (switch droppedDma 'report', tsm/dma-fault.ts). Beside the core's
 * ERROR the VDEV goes to VDEV_ERROR with its DMA disabled, as a fatal device error in
 * RMI_VDEV_COMMUNICATE leaves it (rmi-vdev.ts): the Realm reads RSI_VDEV_ERROR with
 * RSI_VDEV_GET_INFO, and RMI_VDEV_UNLOCK (STOP) is the way out.
 */
import type { TransactionEvent } from '../events.ts';
import type { Outcome } from '../result.ts';
import { type TdiRunning, tsmDmaFault } from '../tsm/dma-fault.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import { vdevDmaOff } from './vdev-dma.ts';

export function ccaDmaFault(
  p: CcaPlatform,
  ev: TransactionEvent,
  running: TdiRunning,
): Outcome<boolean> {
  const r = tsmDmaFault(p, ev, 'F_TRANSLATION', running);
  const v = r.result && ev.rid !== undefined ? p.vendor.vdevs.get(ev.rid) : undefined;
  if (v) {
    v.state = 'VDEV_ERROR';
    vdevDmaOff(p, v);
  }
  return r;
}
