/**
 * The end of a TDI's binding as RMI_VDEV_DESTROY needs it (RMM specification 1.1, A9.4.3):
 * no private MMIO of the TDI mapped and no trusted DMA context, then the binding, the START
 * nonce and the report go with the record. A rule every flavour shares, kept here until the
 * core has it (tsmTdiRelease).
 */
import { ok, refuse, type TsmResult } from '../tsm/result.ts';
import type { TsmState } from '../tsm/state.ts';
import { tdiRecord, tsmTdiDestroy } from '../tsm/tdi.ts';

/** Unbinds the TDI and removes its record; refused, changing nothing, while anything is mapped. */
export function releaseTdi(tsm: TsmState, rid: number): TsmResult {
  const t = tdiRecord(tsm, rid);
  if (!t.ok) return t;
  if (t.value.mmio.size > 0 || t.value.dma !== 'none') {
    return refuse('tdi-mapped', `TDI ${rid}: ${t.value.mmio.size} MMIO pages, DMA ${t.value.dma}`);
  }
  if (t.value.vm !== undefined) tsm.vms.get(t.value.vm)?.tdis.delete(rid);
  Object.assign(t.value, { vm: undefined, nonce: undefined, report: undefined });
  const d = tsmTdiDestroy(tsm, rid);
  return d.ok ? ok : d;
}
