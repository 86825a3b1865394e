/**
 * The report-vs-BARs arithmetic of SYSTEM.md section 4 step 4, pure over wire types so both
 * the TSM (at bind) and the guest's verifier (at attest) place ranges the same way: a TDI's DEVICE_INTERFACE_REPORT
 * (PCIe 6.x 11.3.11, "TDI Report Structure") must describe exactly the BARs the host
 * assigned. Each MMIO range's FIRST_PAGE is the 4 KiB page number of (physical address +
 * MMIO_REPORTING_OFFSET) modulo 2^64; the page distance from a BAR's own first page places
 * the range inside one assigned memory BAR, whose index the RANGE_ID names (teeio's DSM and
 * most devices report per BAR); ranges must not overlap; every BAR must be reported, and
 * (unless holes are allowed, e.g. an MSI-X table not locked and so not reported) covered
 * page for page.
 */
import type { InterfaceReport } from './report.ts';

/** A memory BAR as the host programmed it. */
export interface AssignedBar {
  index: number;
  address: bigint;
  size: bigint;
}

export interface ReportCheckOptions {
  /** RANGE_ID must equal the BAR index (default true). */
  rangeIdIsBar?: boolean;
  /** Unreported pages inside a BAR are not a mismatch (default false). */
  allowHoles?: boolean;
}

export type ReportMismatch = { message: string } & (
  | { kind: 'empty-range'; range: number }
  | { kind: 'range-outside-bars'; range: number; address: bigint; size: bigint }
  | { kind: 'range-id'; range: number; rangeId: number; bar: number }
  | { kind: 'range-overlap'; range: number; other: number }
  | { kind: 'bar-not-reported'; bar: number }
  | { kind: 'bar-hole'; bar: number; offset: bigint; size: bigint }
);

/** A range placed in its BAR. */
export interface PlacedRange {
  range: number;
  bar: number;
  /** Byte offset inside the BAR. */
  offset: bigint;
  size: bigint;
}

export interface ReportCheckResult {
  ok: boolean;
  mismatches: ReportMismatch[];
  placed: PlacedRange[];
}

const PAGE = 4096n;
const U64 = 1n << 64n;
const PAGES = U64 / PAGE;
const mod = (v: bigint, m: bigint) => ((v % m) + m) % m;
/** The FIRST_PAGE a range starting at the BAR's base is reported with. */
const firstPageOf = (b: AssignedBar, offset: bigint) => mod(b.address + offset, U64) / PAGE;
const pageUp = (v: bigint) => ((v + PAGE - 1n) / PAGE) * PAGE;
const hex = (v: bigint) => `0x${v.toString(16)}`;

/**
 * Checks a report's MMIO ranges against the BARs the host assigned to the TDI.
 * Never throws; every disagreement is one mismatch with a message.
 * @param reportingOffset the MMIO_REPORTING_OFFSET sent in LOCK_INTERFACE_REQUEST
 */
export function checkReport(
  report: InterfaceReport,
  bars: readonly AssignedBar[],
  reportingOffset: bigint,
  opts: ReportCheckOptions = {},
): ReportCheckResult {
  const rangeIdIsBar = opts.rangeIdIsBar ?? true;
  const mismatches: ReportMismatch[] = [];
  const placed: PlacedRange[] = [];
  const memBars = bars.filter((b) => b.size > 0n);

  report.mmioRanges.forEach((r, i) => {
    const size = BigInt(r.numberOfPages) * PAGE;
    if (size === 0n) {
      mismatches.push({ kind: 'empty-range', range: i, message: `range ${i} has no pages` });
      return;
    }
    // Work in pages, as the DSM does: FIRST_PAGE = floor((address + offset) mod 2^64 / 4 KiB),
    // so a range's page distance from its BAR's first page is exact whatever the offset.
    const where = memBars
      .map((b) => ({
        b,
        rel:
          r.firstPage < PAGES ? mod(r.firstPage - firstPageOf(b, reportingOffset), PAGES) : PAGES,
      }))
      .find(({ b, rel }) => rel * PAGE + size <= pageUp(b.size));
    if (!where) {
      const address = mod(r.firstPage * PAGE - reportingOffset, U64);
      mismatches.push({
        kind: 'range-outside-bars',
        range: i,
        address,
        size,
        message: `range ${i} at ${hex(address)} (+${hex(size)}) is not inside any assigned BAR`,
      });
      return;
    }
    const bar = where.b;
    if (rangeIdIsBar && r.rangeId !== bar.index) {
      mismatches.push({
        kind: 'range-id',
        range: i,
        rangeId: r.rangeId,
        bar: bar.index,
        message: `range ${i} has RANGE_ID ${r.rangeId} but lies in BAR ${bar.index}`,
      });
    }
    placed.push({ range: i, bar: bar.index, offset: where.rel * PAGE, size });
  });

  for (let i = 0; i < placed.length; i++) {
    for (let j = i + 1; j < placed.length; j++) {
      const [a, b] = [placed[i], placed[j]];
      if (a.bar === b.bar && a.offset < b.offset + b.size && b.offset < a.offset + a.size) {
        mismatches.push({
          kind: 'range-overlap',
          range: b.range,
          other: a.range,
          message: `ranges ${a.range} and ${b.range} overlap in BAR ${a.bar}`,
        });
      }
    }
  }

  for (const bar of memBars) {
    const mine = placed
      .filter((p) => p.bar === bar.index)
      .sort((x, y) => (x.offset < y.offset ? -1 : x.offset > y.offset ? 1 : 0));
    if (mine.length === 0) {
      mismatches.push({
        kind: 'bar-not-reported',
        bar: bar.index,
        message: `BAR ${bar.index} at ${hex(bar.address)} is not in the report`,
      });
      continue;
    }
    if (opts.allowHoles) continue;
    const end = pageUp(bar.size);
    let at = 0n;
    const hole = (offset: bigint, size: bigint) =>
      mismatches.push({
        kind: 'bar-hole',
        bar: bar.index,
        offset,
        size,
        message: `BAR ${bar.index} bytes ${hex(offset)}..${hex(offset + size)} are not reported`,
      });
    for (const p of mine) {
      if (p.offset > at) hole(at, p.offset - at);
      if (p.offset + p.size > at) at = p.offset + p.size;
    }
    if (at < end) hole(at, end - at);
  }
  return { ok: mismatches.length === 0, mismatches, placed };
}
