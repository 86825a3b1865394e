import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../../../src/wire/errors.ts';
import { toHex } from '../../../src/wire/hex.ts';
import {
  type DeviceInterfaceReport,
  decodeInterfaceReport,
  decodeRangeAttributes,
  decodeTdisp,
  encodeInterfaceReport,
  encodeRangeAttributes,
  type GetDeviceInterfaceReport,
  type InterfaceReport,
  type MmioRange,
  PCI_TDISP_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  ReportAssembler,
  splitReport,
} from '../../../src/wire/tdisp/index.ts';
import type { CaptureName } from '../../support/captures.ts';
import {
  interfaceReportArb,
  interfaceReportBytesArb,
} from '../../support/idekm-tdisp-arbitraries.ts';
import { checkRobust } from '../../support/robust.ts';
import { wireErrorExpecter } from '../expect-wire-error.ts';
import { type PciSigMessage, pciSigMessages } from './capture-messages.ts';

const CAPTURES: CaptureName[] = ['doe-spdm13-session.txt', 'v12.decoded.txt'];

const expectWireError = wireErrorExpecter('TDISP');

interface Exchange {
  request: GetDeviceInterfaceReport;
  response: DeviceInterfaceReport;
  responseNote: PciSigMessage;
}

/** The GET_DEVICE_INTERFACE_REPORT / DEVICE_INTERFACE_REPORT pairs, one list per report loop. */
function reportLoops(name: CaptureName): Exchange[][] {
  const loops: Exchange[][] = [];
  let cur: Exchange[] = [];
  let pending: GetDeviceInterfaceReport | undefined;
  for (const x of pciSigMessages(name)) {
    if (x.protocolId !== 1) continue;
    const m = decodeTdisp(x.message);
    if (m.code === PCI_TDISP_GET_DEVICE_INTERFACE_REPORT) pending = m;
    if (m.code === PCI_TDISP_DEVICE_INTERFACE_REPORT) {
      assert.ok(pending, `#${x.frame.index}: report without request`);
      cur.push({ request: pending, response: m, responseNote: x });
      pending = undefined;
      if (m.remainderLength === 0) {
        loops.push(cur);
        cur = [];
      }
    }
  }
  return loops;
}

/** "KEY=VALUE" pairs of one capture note line. */
function kv(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/([A-Z0-9_]+)=(\S+)/g)].map((m) => [m[1], m[2]]));
}

function rangeText(r: MmioRange): string {
  const a = r.attributes;
  const names = Object.entries(a)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  return `firstPage=0x${r.firstPage.toString(16)} pages=${r.numberOfPages} attributes=[${names.join(',')}] rangeId=${r.rangeId}`;
}

describe('DEVICE_INTERFACE_REPORT from the libspdm captures', () => {
  for (const name of CAPTURES) {
    test(`${name}: two portions (64 + 36) reassemble into the 100-byte report the capture shows`, () => {
      const loops = reportLoops(name);
      assert.equal(loops.length, 2, 'one report loop per session');
      for (const loop of loops) {
        assert.deepEqual(
          loop.map((e) => [e.response.portion.length, e.response.remainderLength]),
          [
            [64, 36],
            [36, 0],
          ],
        );
        const asm = new ReportAssembler();
        let whole: Uint8Array | undefined;
        for (const e of loop) {
          // The assembler asks for exactly what spdm-emu's requester asked for.
          assert.deepEqual(asm.nextRequest(), {
            offset: e.request.offset,
            length: e.request.length,
          });
          whole = asm.add(e.response, e.request.length);
        }
        assert.ok(whole && asm.done);
        assert.equal(asm.nextRequest(), undefined);
        assert.equal(whole.length, 100);

        // Responder side: splitReport with spdm-emu's 64-byte portions reproduces both responses.
        for (const e of loop) {
          const p = splitReport(whole, e.request.offset, e.request.length, 64);
          assert.equal(toHex(p.portion), toHex(e.response.portion));
          assert.equal(p.remainderLength, e.response.remainderLength);
        }

        const rep = decodeInterfaceReport(whole);
        assert.equal(toHex(encodeInterfaceReport(rep)), toHex(whole), 're-encoding');
        const shown = rep.mmioRanges.map(rangeText).join('\n  ');
        const notes = loop[1].responseNote.more;
        const head = kv(notes.find((n) => n.startsWith('REPORT:')) ?? '');
        assert.equal(rep.mmioRanges.length, 4, `ranges:\n  ${shown}`);
        assert.equal(rep.mmioRanges.length, Number(head.MMIO_RANGE_COUNT));
        assert.equal(rep.msixMessageControl, Number(head.MSI_X_MESSAGE_CONTROL));
        assert.equal(rep.lnrControl, Number(head.LNR_CONTROL));
        assert.equal(rep.tphControl, Number(head.TPH_CONTROL));
        assert.equal(rep.reserved, undefined);
        // INTERFACE_INFO=0x0003: no FW update after lock, DMA without PASID.
        assert.deepEqual(rep.interfaceInfo, {
          noUpdateAfterLock: true,
          dmaWithoutPasid: true,
          dmaWithPasid: false,
          atsSupported: false,
          prsSupported: false,
          xtModeSupported: false,
        });
        assert.equal(Number(head.INTERFACE_INFO), 0x0003);

        const expected: MmioRange[] = [
          { firstPage: 0x0n, numberOfPages: 1, attributes: attrs({ nonTee: true }), rangeId: 1 },
          {
            firstPage: 0x8000n,
            numberOfPages: 4,
            attributes: attrs({ updatable: true }),
            rangeId: 2,
          },
          {
            firstPage: 0x10000n,
            numberOfPages: 8,
            attributes: attrs({ updatable: true }),
            rangeId: 3,
          },
          {
            firstPage: 0x20000n,
            numberOfPages: 8,
            attributes: attrs({ updatable: true }),
            rangeId: 4,
          },
        ];
        rep.mmioRanges.forEach((r, i) => {
          const what = `MMIO_RANGE[${i}]: ${rangeText(r)}`;
          const note = kv(notes.find((n) => n.startsWith(`MMIO_RANGE[${i}]`)) ?? '');
          assert.equal(r.firstPage, BigInt(note.FIRST_PAGE), `${what} FIRST_PAGE`);
          assert.equal(r.numberOfPages, Number(note.NUMBER_OF_PAGES), `${what} NUMBER_OF_PAGES`);
          assert.equal(
            encodeRangeAttributes(r.attributes),
            Number(note.RANGE_ATTRIBUTES),
            `${what} RANGE_ATTRIBUTES`,
          );
          assert.equal(r.rangeId, Number(note.RANGE_ID), `${what} RANGE_ID`);
          assert.deepEqual(r, expected[i], what);
        });

        const info = kv(notes.find((n) => n.startsWith('DEVICE_SPECIFIC_INFO_LEN')) ?? '');
        assert.equal(rep.deviceSpecificInfo.length, Number(info.DEVICE_SPECIFIC_INFO_LEN));
        assert.equal(toHex(rep.deviceSpecificInfo), info.DEVICE_SPECIFIC_INFO);
        assert.equal(Buffer.from(rep.deviceSpecificInfo).toString('latin1'), 'tdisp_dev_emu\0\0\0');
      }
    });
  }
});

function attrs(set: Partial<Record<'msixTable' | 'msixPba' | 'nonTee' | 'updatable', boolean>>) {
  return { msixTable: false, msixPba: false, nonTee: false, updatable: false, ...set };
}

describe('interface report codec', () => {
  test('object -> bytes -> object', () => {
    fc.assert(
      fc.property(interfaceReportArb, (r: InterfaceReport) => {
        assert.deepEqual(decodeInterfaceReport(encodeInterfaceReport(r)), r);
      }),
      { numRuns: 1000 },
    );
  });

  test('bytes -> object -> bytes', () => {
    fc.assert(
      fc.property(interfaceReportBytesArb, (b) => {
        assert.equal(toHex(encodeInterfaceReport(decodeInterfaceReport(b))), toHex(b));
      }),
      { numRuns: 1000 },
    );
  });

  test('RANGE_ATTRIBUTES: every u16 round-trips, other bits kept', () => {
    for (let v = 0; v <= 0xffff; v += 7)
      assert.equal(encodeRangeAttributes(decodeRangeAttributes(v)), v);
    assert.deepEqual(decodeRangeAttributes(0x13), {
      msixTable: true,
      msixPba: true,
      nonTee: false,
      updatable: false,
      other: 0x10,
    });
  });

  test('lying counts are refused before allocating', () => {
    const head = [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const e = expectWireError(
      () => decodeInterfaceReport(Uint8Array.from([...head, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])),
      'truncated',
      'MMIO_RANGE_COUNT',
    );
    assert.equal(e.offset, 12);
    expectWireError(
      () => decodeInterfaceReport(Uint8Array.from([...head, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f])),
      'truncated',
      'DEVICE_SPECIFIC_INFO',
    );
    expectWireError(
      () => decodeInterfaceReport(Uint8Array.from([...head, 0, 0, 0, 0, 0, 0, 0, 0, 9])),
      'trailing',
    );
  });

  test('robustness: hostile inputs give a value or a WireError', () => {
    checkRobust('INTERFACE_REPORT', interfaceReportBytesArb, decodeInterfaceReport);
  });
});

describe('ReportAssembler and splitReport', () => {
  const part = (n: number, remainderLength: number) => ({
    portion: new Uint8Array(n).fill(n),
    remainderLength,
  });

  test('rejects portions whose lengths are inconsistent', () => {
    const a = new ReportAssembler();
    a.add(part(64, 36));
    const e = expectWireError(() => a.add(part(36, 5)), 'bad-field', 'RemainderLength');
    assert.equal(e.offset, 18);
    assert.equal(e.msg, 'DEVICE_INTERFACE_REPORT');
    expectWireError(() => a.add(part(30, 0)), 'bad-field', 'RemainderLength');
    expectWireError(() => a.add(part(0, 36)), 'bad-field', 'PortionLength');
    expectWireError(() => a.add(part(36, 0), 20), 'bad-field', 'PortionLength');
    assert.ok(a.add(part(36, 0), 36));
    expectWireError(() => a.add(part(1, 0)), 'bad-field', 'PortionLength');

    expectWireError(() => new ReportAssembler({ maxLength: 99 }).add(part(64, 36)), 'too-large');
    const big = new ReportAssembler({ portionLength: 0xffff });
    big.add(part(0xffff, 0xffff));
    expectWireError(() => big.add(part(1, 0xfffe)), 'too-large', 'RemainderLength');
    assert.throws(() => new ReportAssembler({ portionLength: 0 }), RangeError);
    assert.throws(() => new ReportAssembler().report(), Error);
  });

  test('a report of one empty portion is complete at once', () => {
    const a = new ReportAssembler();
    assert.equal(a.add(part(0, 0))?.length, 0);
    assert.ok(a.done);
  });

  test('splitReport refuses Length 0 and an Offset outside the report (InvalidRequest)', () => {
    const rep = new Uint8Array(100);
    expectWireError(() => splitReport(rep, 0, 0), 'bad-field', 'Length');
    expectWireError(() => splitReport(rep, 100, 10), 'bad-field', 'Offset');
    assert.deepEqual(splitReport(rep, 90, 64).remainderLength, 0);
    assert.equal(splitReport(rep, 90, 64).portion.length, 10);
    assert.throws(() => splitReport(new Uint8Array(0x20000), 0, 10), RangeError);
  });

  test('splitReport + ReportAssembler reassemble any report, whatever the portion sizes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 128 }),
        fc.integer({ min: 1, max: 128 }),
        (rep, ask, serve) => {
          const a = new ReportAssembler({ portionLength: ask });
          let whole: Uint8Array | undefined;
          for (let guard = 0; guard < 1000 && !a.done; guard++) {
            const req = a.nextRequest();
            assert.ok(req);
            whole = a.add(splitReport(rep, req.offset, req.length, serve), req.length);
          }
          assert.ok(whole);
          assert.equal(toHex(whole), toHex(rep));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('robustness: any portion sequence gives progress, the report or a WireError', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            n: fc.nat({ max: 80 }),
            rem: fc.nat({ max: 0xffff }),
            ask: fc.option(fc.nat(100)),
          }),
          { maxLength: 12 },
        ),
        (steps) => {
          const a = new ReportAssembler();
          for (const s of steps) {
            try {
              a.add(part(s.n, s.rem), s.ask ?? undefined);
            } catch (e) {
              assert.ok(e instanceof WireError, String(e));
            }
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
