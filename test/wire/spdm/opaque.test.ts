/** Secured-message opaque data (src/wire/spdm/opaque.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import {
  buildSupportedVersionsOpaque,
  buildVersionSelectionOpaque,
  decodeOpaqueData,
  decodeSecuredMessageData,
  encodeOpaqueData,
  encodeSecuredMessageData,
  findSecuredMessageData,
} from '../../../src/wire/spdm/opaque.ts';
import { checkRobust, FUZZ_RUNS } from '../../support/robust.ts';
import {
  arbOpaqueData,
  arbSecuredMessageData,
  arbSessionVersion,
} from '../../support/spdm-arbitraries-session.ts';

// What libspdm's requester sends at 1.2+: one DMTF element listing 1.0, 1.1, 1.2.
const FMT1_SUPPORTED = fromHex(
  '01 000000' + // TotalElements, Reserved[3]
    '00 00 0900' + // ID DMTF, VendorLen 0, OpaqueElementDataLen 9
    '01 01 03 0010 0011 0012' + // SMDataVersion 1, SMDataID 1, count 3, versions
    '000000', // pad 13 -> 16
);
// The SPDM 1.1 layout with the DSP0277 SpecID header, selecting 1.1.
const SPECID_SELECTION = fromHex('46544d44 01 01 0000' + '00 00 0400' + '01 00 0011');

describe('opaque data tables', () => {
  test('OpaqueDataFmt1 supported-version list (1.2+)', () => {
    const o = decodeOpaqueData(FMT1_SUPPORTED, 0x12);
    assert.deepStrictEqual(o, {
      format: 'fmt1',
      reserved: undefined,
      elements: [
        {
          id: 0,
          vendorId: new Uint8Array(0),
          data: fromHex('010103001000110012'),
          padding: undefined,
        },
      ],
    });
    assert.deepStrictEqual(findSecuredMessageData(o), {
      kind: 'supported-versions',
      smDataVersion: 1,
      versions: [0x1000, 0x1100, 0x1200],
    });
    assert.deepStrictEqual(
      buildSupportedVersionsOpaque([0x1000, 0x1100, 0x1200], 0x13),
      FMT1_SUPPORTED,
    );
    assert.deepStrictEqual(encodeOpaqueData(o), FMT1_SUPPORTED);
  });

  test('SpecID table with a version selection (1.1)', () => {
    const o = decodeOpaqueData(SPECID_SELECTION, 0x11);
    assert.equal(o.format, 'spec-id');
    assert.deepStrictEqual(findSecuredMessageData(o), {
      kind: 'version-selection',
      smDataVersion: 1,
      selectedVersion: 0x1100,
    });
    assert.deepStrictEqual(buildVersionSelectionOpaque(0x1100, 0x11), SPECID_SELECTION);
    const bad = SPECID_SELECTION.slice();
    bad[0] = 0x47;
    assert.throws(() => decodeOpaqueData(bad, 0x11, 100), {
      name: 'WireError',
      field: 'SpecID',
      kind: 'bad-field',
      offset: 100,
    });
  });

  test('vendor elements, non-zero padding and reserved bytes round-trip raw', () => {
    const bytes = fromHex(
      '02 0000a0' + // TotalElements 2, Reserved
        '03 02 0100 0300 aabbcc 000000' + // PCI-SIG element, 9 bytes + zero pad
        '07 00 0100 55 ffeedd', // 5 bytes + non-zero pad
    );
    const o = decodeOpaqueData(bytes, 0x13);
    assert.equal(o.reserved, 0xa00000);
    assert.deepStrictEqual(o.elements[0], {
      id: 3,
      vendorId: fromHex('0100'),
      data: fromHex('aabbcc'),
      padding: undefined,
    });
    assert.deepStrictEqual(o.elements[1].padding, fromHex('ffeedd'));
    assert.equal(findSecuredMessageData(o), undefined);
    assert.deepStrictEqual(encodeOpaqueData(o), bytes);
  });

  test('refuses missing elements and bytes after the last one', () => {
    assert.throws(() => decodeOpaqueData(fromHex('02000000 00000000'), 0x12), {
      kind: 'truncated',
      field: 'Element[1].ID',
    });
    assert.throws(() => decodeOpaqueData(fromHex('01000000 00000000 00'), 0x12), {
      kind: 'trailing',
    });
  });

  test('SMData of unknown id is kept raw; known ones must be exact', () => {
    const raw = fromHex('01 07 0102');
    assert.deepStrictEqual(decodeSecuredMessageData(raw), {
      kind: 'unknown',
      smDataVersion: 1,
      smDataId: 7,
      data: fromHex('0102'),
    });
    assert.throws(() => decodeSecuredMessageData(fromHex('01 00 0012 00')), { kind: 'trailing' });
    assert.throws(() => decodeSecuredMessageData(fromHex('01 01 02 0010')), { kind: 'truncated' });
  });

  test('table -> bytes -> table, and decodable bytes re-encode unchanged', () => {
    const arb = arbSessionVersion.chain((v) => arbOpaqueData(v).map((o) => ({ v, o })));
    fc.assert(
      fc.property(arb, ({ v, o }) => {
        assert.deepStrictEqual(decodeOpaqueData(encodeOpaqueData(o), v), o);
      }),
      { numRuns: 500 },
    );
    const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 });
    fc.assert(
      fc.property(arb, edits, ({ v, o }, ed) => {
        const b = encodeOpaqueData(o);
        for (const [at, x] of ed) if (b.length) b[at % b.length] = x;
        let back: ReturnType<typeof decodeOpaqueData>;
        try {
          back = decodeOpaqueData(b, v);
        } catch (e) {
          if (e instanceof WireError) return;
          throw e;
        }
        assert.deepStrictEqual(encodeOpaqueData(back), b);
      }),
      { numRuns: 500 },
    );
  });

  test('SMData -> bytes -> SMData', () => {
    fc.assert(
      fc.property(arbSecuredMessageData, (d) => {
        assert.deepStrictEqual(decodeSecuredMessageData(encodeSecuredMessageData(d)), d);
      }),
      { numRuns: 300 },
    );
  });

  test('robust on hostile input', () => {
    const half = Math.ceil(FUZZ_RUNS / 2);
    checkRobust(
      'opaque 1.2',
      arbOpaqueData(0x12).map(encodeOpaqueData),
      (b) => decodeOpaqueData(b, 0x12),
      half,
    );
    checkRobust(
      'opaque 1.1',
      arbOpaqueData(0x11).map(encodeOpaqueData),
      (b) => decodeOpaqueData(b, 0x11),
      half,
    );
    checkRobust(
      'secured message data',
      arbSecuredMessageData.map(encodeSecuredMessageData),
      (b) => decodeSecuredMessageData(b),
      Math.ceil(FUZZ_RUNS / 4),
    );
  });
});
