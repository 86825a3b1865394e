/**
 * The T-bit policy the DSM hands the hardware (PCIe 6.x 11.2, "TDI rules"; SYSTEM.md
 * section 2): what an MMIO access with T=0 or T=1 to a function's BAR gets, and whether the
 * function's DMA engine sets T=1.
 *
 * | TDI state        | T=1        | T=0 to TEE memory | T=0 to locked MSI-X | T=0 to non-TEE |
 * |------------------|------------|-------------------|---------------------|----------------|
 * | CONFIG_UNLOCKED  | UR         | ok                | ok                  | ok             |
 * | CONFIG_LOCKED    | UR         | UR                | ok                  | ok             |
 * | RUN              | ok         | UR                | UR                  | ok             |
 * | ERROR            | UR         | UR (not scrubbed) | UR                  | ok             |
 *
 * An MSI-X table or PBA that LOCK did not lock is not TEE memory. SET_MMIO_ATTRIBUTE
 * overrides apply in RUN. The DMA engine issues T=1 only in RUN.
 */
import type { FunctionSecurityView } from '../events.ts';
import type { TeeAccessResult } from './hardware.ts';
import { barRanges, type RangeKind } from './interface-report.ts';
import type { DsmState } from './state.ts';

type AccessClass = 'tee' | 'msix' | 'non-tee';

/** The memory BAR `bar` of the view when `offset` falls inside it. */
function barAt(view: FunctionSecurityView, bar: number, offset: bigint) {
  const b = view.bars.find((x) => x.index === bar && x.memory);
  return b === undefined || offset < 0n || offset >= b.size ? undefined : b;
}

function classify(
  s: DsmState,
  view: FunctionSecurityView,
  fn: number,
  bar: number,
  offset: bigint,
): AccessClass | undefined {
  const b = barAt(view, bar, offset);
  if (b === undefined) return undefined;
  const tdi = s.tdis[fn];
  if (tdi?.state === 'RUN') {
    const o = tdi.mmioAttributes.find(
      (m) => m.bar === bar && offset >= m.offset && offset < m.offset + m.size,
    );
    if (o) return o.nonTee ? 'non-tee' : 'tee';
  }
  const r = barRanges(view, b).find((x) => offset >= x.offset && offset < x.offset + x.size);
  const kind: RangeKind = r?.kind ?? 'tee';
  if (kind === 'non-tee') return 'non-tee';
  if (kind === 'tee') return 'tee';
  return msixLocked(s, fn) ? 'msix' : 'non-tee';
}

/** LOCK_MSIX holds the function's MSI-X: locked with the flag, and not unlocked since. */
export function msixLocked(s: DsmState, fn: number): boolean {
  const tdi = s.tdis[fn];
  return tdi !== undefined && tdi.state !== 'CONFIG_UNLOCKED' && tdi.lock.msixLocked;
}

/**
 * The decision for one MMIO access to function `fn`. `view` is asked only when the answer
 * depends on where in the BAR the access lands (the per-access path: a T=1 access in RUN needs
 * only the BAR's bounds, and UNLOCKED needs nothing).
 */
export function mmioAccess(
  s: DsmState,
  view: () => FunctionSecurityView | undefined,
  fn: number,
  bar: number,
  offset: bigint,
  t: boolean,
): TeeAccessResult {
  const state = s.tdis[fn]?.state ?? 'CONFIG_UNLOCKED';
  if (state === 'CONFIG_UNLOCKED') return t ? 'UR' : 'ok';
  if (t && state !== 'RUN') return 'UR';
  const v = view();
  if (v === undefined) return t ? 'UR' : 'ok';
  if (t) return barAt(v, bar, offset) ? 'ok' : 'UR';
  const cls = classify(s, v, fn, bar, offset);
  if (cls === undefined) return 'ok';
  switch (state) {
    case 'CONFIG_LOCKED':
      return cls === 'tee' ? 'UR' : 'ok';
    case 'RUN':
      return cls === 'non-tee' ? 'ok' : 'UR';
    case 'ERROR':
      return cls !== 'non-tee' ? 'UR' : 'ok';
  }
}

/** The DMA engine's T bit: set only while the TDI runs. */
export function dmaT(s: DsmState, fn: number): boolean {
  return s.tdis[fn]?.state === 'RUN';
}
