/**
 * The TDI report of DEVICE_INTERFACE_REPORT (PCIe 6.x 11.3.11, "TDI Report Structure"),
 * generated from the function's live configuration:
 * - MMIO ranges per memory BAR in ascending BAR order, RANGE_ID = the BAR's BEI, FIRST_PAGE
 *   = (BAR address + range offset + MMIO_REPORTING_OFFSET) / 4 KiB (the offset is a signed
 *   64-bit value added to physical addresses, so the sum wraps modulo 2^64);
 * - the MSI-X table and PBA pages split out and flagged only when LOCK_MSIX locked them
 *   (unlocked ones "must not be reported"); non-TEE ranges flagged IS_NON_TEE_MEM;
 * - MSI_X_MESSAGE_CONTROL and TPH_CONTROL cleared unless the MSI-X table is locked;
 * - INTERFACE_INFO from NO_FW_UPDATE and the PASID / ATS / PRS enables.
 */
import { PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE } from '../../wire/tdisp/constants.ts';
import type { InterfaceReport, MmioRange } from '../../wire/tdisp/report.ts';
import type { BarView, FunctionSecurityView } from '../events.ts';
import type { LockRecord } from './tdi.ts';

export const PAGE_SIZE = 4096n;
const U64 = (1n << 64n) - 1n;

/** Bytes of one MSI-X table entry and of one PBA qword (PCIe 7.7.2). */
const MSIX_ENTRY_SIZE = 16n;

export type RangeKind = 'tee' | 'non-tee' | 'msix-table' | 'msix-pba' | 'msix-table+pba';

/** One reported range of a BAR, BAR-relative and page-aligned. */
export interface BarRange {
  bar: number;
  offset: bigint;
  size: bigint;
  kind: RangeKind;
}

interface Marked {
  start: bigint;
  end: bigint;
  mark: 'table' | 'pba' | 'non-tee';
}

const pageDown = (v: bigint) => (v / PAGE_SIZE) * PAGE_SIZE;
const pageUp = (v: bigint) => ((v + PAGE_SIZE - 1n) / PAGE_SIZE) * PAGE_SIZE;

/** The MSI-X table and PBA byte ranges (table entries x 16 bytes; PBA one bit per entry, in qwords). */
export function msixRanges(
  view: FunctionSecurityView,
): Array<{ bar: number; start: bigint; end: bigint; mark: 'table' | 'pba' }> {
  const m = view.msix;
  if (!m) return [];
  const entries = BigInt(m.tableSize);
  const pbaBytes = ((entries + 63n) / 64n) * 8n;
  return [
    {
      bar: m.tableBar,
      start: BigInt(m.tableOffset),
      end: BigInt(m.tableOffset) + entries * MSIX_ENTRY_SIZE,
      mark: 'table',
    },
    { bar: m.pbaBar, start: BigInt(m.pbaOffset), end: BigInt(m.pbaOffset) + pbaBytes, mark: 'pba' },
  ];
}

function kindOf(marks: Set<Marked['mark']>): RangeKind {
  if (marks.has('table') && marks.has('pba')) return 'msix-table+pba';
  if (marks.has('table')) return 'msix-table';
  if (marks.has('pba')) return 'msix-pba';
  if (marks.has('non-tee')) return 'non-tee';
  return 'tee';
}

/**
 * Splits one memory BAR into page-aligned ranges of one kind each (interval arithmetic,
 * so a 16 GiB BAR costs as little as a 4 KiB one). MSI-X ranges are included whatever the
 * lock state; the caller decides whether to report them.
 */
export function barRanges(view: FunctionSecurityView, bar: BarView): BarRange[] {
  const size = pageUp(bar.size);
  const marks: Marked[] = [];
  for (const r of msixRanges(view)) {
    if (r.bar === bar.index)
      marks.push({ start: pageDown(r.start), end: pageUp(r.end), mark: r.mark });
  }
  for (const r of view.nonTeeRanges) {
    if (r.bar === bar.index)
      marks.push({ start: pageDown(r.offset), end: pageUp(r.offset + r.size), mark: 'non-tee' });
  }
  const cuts = new Set<bigint>([0n, size]);
  for (const m of marks) {
    if (m.start < size) cuts.add(m.start);
    if (m.end < size) cuts.add(m.end);
  }
  const points = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: BarRange[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [start, end] = [points[i], points[i + 1]];
    const here = new Set(marks.filter((m) => m.start <= start && m.end >= end).map((m) => m.mark));
    const kind = kindOf(here);
    const last = out[out.length - 1];
    if (last && last.kind === kind && last.offset + last.size === start) last.size += end - start;
    else out.push({ bar: bar.index, offset: start, size: end - start, kind });
  }
  return out;
}

/** The memory BARs of a function that the report covers, in ascending BAR order. */
export function reportedBars(view: FunctionSecurityView): BarView[] {
  return view.bars.filter((b) => b.memory && b.size > 0n).sort((a, b) => a.index - b.index);
}

/** Every reported range of the function, BAR-relative (MSI-X omitted unless locked). */
export function reportedRanges(view: FunctionSecurityView, msixLocked: boolean): BarRange[] {
  return reportedBars(view)
    .flatMap((b) => barRanges(view, b))
    .filter((r) => msixLocked || !r.kind.startsWith('msix'));
}

export interface ReportOptions {
  mmioAttributeUpdatable: boolean;
  deviceSpecificInfo: Uint8Array;
}

/** The FIRST_PAGE of a BAR-relative range (offset added modulo 2^64, then in 4 KiB pages). */
export function firstPage(bar: BarView, offset: bigint, mmioReportingOffset: bigint): bigint {
  return ((bar.address + offset + mmioReportingOffset) & U64) / PAGE_SIZE;
}

/** Builds the report of a locked TDI from the live view. */
export function buildInterfaceReport(
  view: FunctionSecurityView,
  lock: LockRecord,
  opts: ReportOptions,
): InterfaceReport {
  const barsByIndex = new Map(view.bars.map((b) => [b.index, b]));
  const mmioRanges: MmioRange[] = reportedRanges(view, lock.msixLocked).map((r) => ({
    firstPage: firstPage(barsByIndex.get(r.bar)!, r.offset, lock.mmioReportingOffset),
    numberOfPages: Number(r.size / PAGE_SIZE),
    attributes: {
      msixTable: r.kind === 'msix-table' || r.kind === 'msix-table+pba',
      msixPba: r.kind === 'msix-pba' || r.kind === 'msix-table+pba',
      nonTee: r.kind === 'non-tee',
      updatable: opts.mmioAttributeUpdatable && r.kind === 'tee',
    },
    rangeId: r.bar,
  }));
  return {
    interfaceInfo: {
      noUpdateAfterLock: (lock.flags & PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE) !== 0,
      dmaWithoutPasid: true,
      dmaWithPasid: view.pasidEnabled,
      atsSupported: view.atsEnabled,
      prsSupported: view.prsEnabled,
      xtModeSupported: false,
    },
    msixMessageControl: lock.msixLocked && view.msix ? view.msix.messageControl : 0,
    lnrControl: view.lnrControl,
    tphControl: lock.msixLocked ? view.tphControl : 0,
    mmioRanges,
    deviceSpecificInfo: opts.deviceSpecificInfo,
  };
}

/**
 * Security-relevant differences between the LOCK snapshot and the live view that the
 * hardware should have reported as an ERROR trigger; a non-empty answer means the DSM
 * must not vouch for the configuration any more.
 */
export function configDrift(snapshot: FunctionSecurityView, live: FunctionSecurityView): string[] {
  const out: string[] = [];
  if (snapshot.requesterId !== live.requesterId) out.push('requesterId');
  const bars = (v: FunctionSecurityView) =>
    reportedBars(v)
      .map((b) => `${b.index}:${b.address}:${b.size}`)
      .join(',');
  if (bars(snapshot) !== bars(live)) out.push('bars');
  if (snapshot.pasidEnabled !== live.pasidEnabled) out.push('pasid');
  if (snapshot.atsEnabled !== live.atsEnabled) out.push('ats');
  if (snapshot.prsEnabled !== live.prsEnabled) out.push('prs');
  const msix = (v: FunctionSecurityView) =>
    v.msix
      ? `${v.msix.tableBar}:${v.msix.tableOffset}:${v.msix.tableSize}:${v.msix.pbaBar}:${v.msix.pbaOffset}`
      : '';
  if (msix(snapshot) !== msix(live)) out.push('msix');
  return out;
}
