/**
 * What a TSM core operation answers. A refusal names its reason in the core's own words;
 * each flavour turns the reason into its real error code (TDX_* status, SEV_RET_*,
 * RMI_ERROR_*) and its ABI's name, so the rules stay in one place and the codes in the
 * flavour. A refused operation has changed nothing.
 */

/** Why the core refused. */
export type TsmRefusal =
  | 'no-such-device'
  | 'device-exists'
  | 'device-not-connected'
  | 'device-connected'
  | 'device-has-tdis'
  | 'no-such-tdi'
  | 'tdi-exists'
  | 'no-such-vm'
  | 'vm-exists'
  | 'vm-finalized'
  | 'vm-not-finalized'
  | 'tdi-bound'
  | 'tdi-not-bound'
  | 'wrong-vm'
  /** The TDI is not in the TDISP state the operation needs. */
  | 'tdi-state'
  | 'no-report'
  /** The page is not inside a TEE range of the TDI's report. */
  | 'not-in-report'
  | 'page-mapped'
  | 'page-not-mapped'
  /** MMIO or DMA of the TDI is still mapped. */
  | 'tdi-mapped'
  | 'page-owner'
  | 'sept-state'
  | 'dma-state'
  /** The DSM answered with an error, or the SPDM / IDE_KM / TDISP exchange failed. */
  | 'device-error';

export type TsmResult<T = undefined> =
  | { ok: true; value: T }
  | { ok: false; reason: TsmRefusal; detail: string };

export const done = <T>(value: T): TsmResult<T> => ({ ok: true, value });
export const ok: TsmResult = { ok: true, value: undefined };

export function refuse<T = never>(reason: TsmRefusal, detail: string): TsmResult<T> {
  return { ok: false, reason, detail };
}
