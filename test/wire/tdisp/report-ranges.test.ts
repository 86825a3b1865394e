import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { InterfaceReport, MmioRange } from '../../../src/wire/tdisp/report.ts';
import { type AssignedBar, checkReport } from '../../../src/wire/tdisp/report-ranges.ts';

const PAGE = 4096n;
const U64 = 1n << 64n;
const attrs = { msixTable: false, msixPba: false, nonTee: false, updatable: false };

/** A range at a physical address, as a DSM reports it with `offset` (mod 2^64, in pages). */
function range(address: bigint, pages: number, rangeId: number, offset: bigint): MmioRange {
  return {
    firstPage: ((address + offset) % U64) / PAGE,
    numberOfPages: pages,
    attributes: attrs,
    rangeId,
  };
}

function report(mmioRanges: MmioRange[]): InterfaceReport {
  return {
    interfaceInfo: {
      noUpdateAfterLock: true,
      dmaWithoutPasid: true,
      dmaWithPasid: false,
      atsSupported: false,
      prsSupported: false,
      xtModeSupported: false,
    },
    msixMessageControl: 0,
    lnrControl: 0,
    tphControl: 0,
    mmioRanges,
    deviceSpecificInfo: new Uint8Array(),
  };
}

const BARS: AssignedBar[] = [
  { index: 0, address: 0xe000_0000n, size: 0x10000n },
  { index: 2, address: 0x40_0000_0000n, size: 0x4000n },
];
const OFF = 0xd000_0000n;

/** BAR0 split as 14 + 1 + 1 pages (e.g. around an MSI-X table and PBA), BAR2 whole. */
function goodRanges(offset = OFF): MmioRange[] {
  return [
    range(0xe000_0000n, 14, 0, offset),
    range(0xe000_e000n, 1, 0, offset),
    range(0xe000_f000n, 1, 0, offset),
    range(0x40_0000_0000n, 4, 2, offset),
  ];
}

const kinds = (r: ReturnType<typeof checkReport>) => r.mismatches.map((m) => m.kind);

describe('checkReport', () => {
  it('accepts ranges that tile every assigned BAR, and places them', () => {
    const r = checkReport(report(goodRanges()), BARS, OFF);
    assert.deepEqual(r.mismatches, []);
    assert.equal(r.ok, true);
    assert.deepEqual(
      r.placed.map((p) => [p.range, p.bar, p.offset, p.size]),
      [
        [0, 0, 0n, 0xe000n],
        [1, 0, 0xe000n, 0x1000n],
        [2, 0, 0xf000n, 0x1000n],
        [3, 2, 0n, 0x4000n],
      ],
    );
  });

  it('undoes a negative (wrapping) MMIO_REPORTING_OFFSET', () => {
    const minusPage = U64 - PAGE;
    assert.equal(checkReport(report(goodRanges(minusPage)), BARS, minusPage).ok, true);
    assert.equal(checkReport(report(goodRanges(minusPage)), BARS, 0n).ok, false);
  });

  it('reports a BAR smaller than a page as that whole page', () => {
    const bars = [{ index: 1, address: 0xf000_0000n, size: 0x800n }];
    assert.equal(checkReport(report([range(0xf000_0000n, 1, 1, 0n)]), bars, 0n).ok, true);
  });

  it('names a range outside every BAR, a wrong RANGE_ID, an overlap and an empty range', () => {
    const rs = goodRanges();
    const r = checkReport(
      report([
        ...rs.slice(0, 3),
        { ...rs[3], rangeId: 4 },
        range(0xe000_f000n, 1, 0, OFF),
        range(0x1000_0000n, 1, 0, OFF),
        { ...rs[0], numberOfPages: 0 },
      ]),
      BARS,
      OFF,
    );
    assert.deepEqual(kinds(r), ['range-id', 'range-outside-bars', 'empty-range', 'range-overlap']);
    const outside = r.mismatches.find((m) => m.kind === 'range-outside-bars')!;
    assert.match(
      outside.message,
      /range 5 at 0x10000000 \(\+0x1000\) is not inside any assigned BAR/,
    );
    assert.equal(
      checkReport(report([{ ...rs[3], rangeId: 4 }]), BARS, OFF, {
        rangeIdIsBar: false,
      }).mismatches.some((m) => m.kind === 'range-id'),
      false,
    );
  });

  it('names a BAR missing from the report and pages left out (unless holes are allowed)', () => {
    const rs = goodRanges();
    const r = checkReport(report([rs[0], rs[2]]), BARS, OFF);
    assert.deepEqual(kinds(r), ['bar-hole', 'bar-not-reported']);
    assert.match(r.mismatches[0].message, /BAR 0 bytes 0xe000..0xf000 are not reported/);
    assert.deepEqual(kinds(checkReport(report([rs[0], rs[2]]), BARS, OFF, { allowHoles: true })), [
      'bar-not-reported',
    ]);
    // A range that runs past its BAR's end is outside it.
    assert.deepEqual(
      kinds(checkReport(report([...rs.slice(0, 3), { ...rs[3], numberOfPages: 5 }]), BARS, OFF)),
      ['range-outside-bars', 'bar-not-reported'],
    );
  });

  it('property: a tiling of random BARs passes; moving one range by a page fails', () => {
    const barArb = fc.record({
      pages: fc.integer({ min: 1, max: 64 }),
      at: fc.bigInt({ min: 1n, max: 1n << 30n }),
    });
    fc.assert(
      fc.property(
        fc.array(barArb, { minLength: 1, maxLength: 4 }),
        fc.bigInt({ min: 0n, max: U64 - 1n }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (specs, offset, cuts, pick) => {
          // Non-overlapping, page-aligned BARs, each a power-of-two-free size in pages.
          let base = 0x1_0000_0000n;
          const bars: AssignedBar[] = specs.map((s, i) => {
            base += s.at * PAGE;
            const b = { index: i, address: base, size: BigInt(s.pages) * PAGE };
            base += b.size;
            return b;
          });
          const ranges: MmioRange[] = [];
          for (const b of bars) {
            let at = 0;
            const pages = Number(b.size / PAGE);
            for (let k = 0; at < pages; k++) {
              const n = Math.min(cuts[k % cuts.length], pages - at);
              ranges.push(range(b.address + BigInt(at) * PAGE, n, b.index, offset));
              at += n;
            }
          }
          assert.deepEqual(checkReport(report(ranges), bars, offset).mismatches, []);
          const i = pick % ranges.length;
          const moved = ranges.map((r, j) =>
            j === i ? { ...r, firstPage: (r.firstPage + 1n) % (U64 / PAGE) } : r,
          );
          assert.equal(checkReport(report(moved), bars, offset).ok, false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
