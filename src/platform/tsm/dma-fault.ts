/**
 * Design question 9 of SYSTEM.md section 6: is DMA the host drops a denial of service or an
 * integrity breach? The fabric refuses a T=1 DMA that does not qualify (fabric.ts: the
 * trusted context blocked or removed, TDX TDH.DMAR.BLOCK / REMOVE; a page gone from the secure
 * EPT; the stream insecure) and completes it UR or CA to the device. Who else learns of it is
 * switch `droppedDma` (switches.ts):
 *
 * - 'silent': nobody. The guest's buffer keeps what it held before, the device moves on, and
 *   the guest, which still reads RUN, takes stale data for the device's: an integrity breach
 *   no invariant about mappings sees (world/invariants.ts I10 counts it).
 * - 'report': the IOMMU reports the fault to the TSM (each flavour's fault record, events.ts
 *   DmaFaultEvent), and the TSM takes the TDI out of RUN into ERROR on its side: the guest's
 *   next state read (TDG.DEVIF.RD, TIO_MSG_TDI_INFO_REQ, RSI_VDEV_GET_INFO) shows ERROR, and
 *   no T=1 traffic of the TDI passes until STOP_INTERFACE. The drop is then a denial of
 *   service the guest sees, which the host can always cause.
 *
 * The TSM cannot tell a host's interference from a device's or guest's mistake (all it gets
 * is the IOMMU's fault record), so every refused T=1 request of a TDI it runs counts; a TDI
 * not in RUN had nothing in flight a guest counts on, and one in ERROR is told already.
 */
import type { DmaFaultName, FabricRefusal, TransactionEvent } from '../events.ts';
import type { Rid } from '../ids.ts';
import type { Platform } from '../platform.ts';
import type { Outcome } from '../result.ts';

/** Why the TSM took a TDI out of RUN: the refused T=1 request the IOMMU reported. */
export interface DmaFault {
  /** The fault record's name (DMAR_FAULT, IO_PAGE_FAULT, F_TRANSLATION). */
  op: DmaFaultName;
  request: 'MemRd' | 'MemWr';
  /** The address the device used (IOVA / GPA). */
  address: bigint;
  /** Why the fabric refused it. */
  reason: FabricRefusal;
}

/** Whether the TSM runs the TDI at `rid` now (the fabric's view: platform.ts fabricViews). */
export type TdiRunning = (rid: Rid) => boolean;

const nothing: Outcome<boolean> = { result: false, events: [] };

/**
 * The IOMMU's report of fabric transaction `ev` to the TSM, as fault record `op`. Under
 * 'report', a refused T=1 DMA of a TDI the TSM runs for a VM takes the TDI to ERROR and keeps
 * why (TsmTdi.dmaFault); anything else changes nothing.
 * @returns whether the TDI went to ERROR, and the fault's event
 */
export function tsmDmaFault(
  p: Platform,
  ev: TransactionEvent,
  op: DmaFaultName,
  running: TdiRunning,
): Outcome<boolean> {
  // Validate: a refused T=1 request of a device, on a platform that reports.
  if (p.switches.droppedDma !== 'report') return nothing;
  if (ev.domain !== 'device' || !ev.t || ev.verdict === 'SC' || ev.rid === undefined) {
    return nothing;
  }
  // Check state: a TDI the TSM runs for a VM. `running` is the fabric's view, so a SEV
  // guest whose ASID is fenced (told already) is left as it is.
  const rid = ev.rid;
  const t = p.tsm.tdis.get(rid);
  if (t?.state !== 'RUN' || t.vm === undefined || !running(rid)) return nothing;
  // Update: ERROR on the TSM's side; the device still says RUN, which the TSM no longer
  // believes (tdi.ts tsmTdiState keeps ERROR until STOP_INTERFACE succeeds).
  const reason = ev.reason ?? 'tdi-not-run';
  t.state = 'ERROR';
  t.dmaFault = { op, request: ev.request, address: ev.address, reason };
  // Emit.
  return {
    result: true,
    events: [
      {
        kind: 'dma-fault',
        op,
        rid,
        vm: t.vm,
        request: ev.request,
        address: ev.address,
        reason,
        tdiState: 'ERROR',
      },
    ],
  };
}
