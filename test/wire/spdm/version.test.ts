import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import { Reader } from '../../../src/wire/reader.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_GET_VERSION, SPDM_VERSION } from '../../../src/wire/spdm/constants.ts';
import {
  formatVersionEntry,
  type Version,
  versionCodec,
  versionEntryFromU16,
  versionEntryToByte,
  versionEntryToU16,
} from '../../../src/wire/spdm/version.ts';
import {
  canon,
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

describe('SPDM GET_VERSION / VERSION', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('version'));
  test('decodable bytes re-encode to themselves', () => checkAuthBytesRoundTrip('version'));
  test('robust on hostile input', () => checkAuthRobust('version'));

  test('GET_VERSION is the bare header, always at 0x10', () => {
    const m = decodeSpdm(fromHex('10 84 00 00'));
    assert.deepEqual(canon(m), { version: 0x10, code: SPDM_GET_VERSION });
    assert.deepEqual(encodeSpdm({ version: 0x10, code: SPDM_GET_VERSION }), fromHex('10840000'));
    // Reserved params are kept so that the bytes round-trip.
    const odd = fromHex('10 84 01 80');
    assert.deepEqual(encodeSpdm(decodeSpdm(odd)), odd);
  });

  test('VERSION entries as libspdm sends them (1.0 .. 1.4)', () => {
    const bytes = fromHex('10 04 00 00 00 05 00 10 00 11 00 12 00 13 00 14');
    const m = decodeSpdm(bytes) as Version;
    assert.equal(m.code, SPDM_VERSION);
    assert.deepEqual(m.entries.map(formatVersionEntry), ['1.0', '1.1', '1.2', '1.3', '1.4']);
    assert.deepEqual(m.entries.map(versionEntryToByte), [0x10, 0x11, 0x12, 0x13, 0x14]);
    assert.deepEqual(encodeSpdm(m), bytes);
  });

  test('entry nibbles: 15:12 major, 11:8 minor, 7:4 update, 3:0 alpha', () => {
    assert.deepEqual(versionEntryFromU16(0x1234), { major: 1, minor: 2, update: 3, alpha: 4 });
    assert.equal(formatVersionEntry(versionEntryFromU16(0x1210)), '1.2.1');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (v) => {
        assert.equal(versionEntryToU16(versionEntryFromU16(v)), v);
      }),
    );
    assert.throws(
      () => versionEntryToU16({ major: 16, minor: 0, update: 0, alpha: 0 }),
      RangeError,
    );
  });

  test('a VERSION header of any version decodes (1.4, garbage)', () => {
    for (const v of [0x14, 0x20, 0x00]) {
      const b = Uint8Array.from([v, 0x04, 0, 0, 0, 1, 0x00, 0x14]);
      assert.equal((decodeSpdm(b) as Version).version, v);
    }
  });

  test('count and entries must agree with the bytes', () => {
    assert.throws(
      () => decodeSpdm(fromHex('10 04 00 00 00 02 00 10')),
      (e) => e instanceof WireError && e.kind === 'truncated' && e.offset === 8,
    );
    assert.throws(
      () => decodeSpdm(fromHex('10 04 00 00 00 01 00 10 00')),
      (e) => e instanceof WireError && e.kind === 'trailing',
    );
  });

  test('a family codec refuses another code', () => {
    const r = new Reader(fromHex('10 84 00 00'), 'SPDM', 'VERSION');
    assert.throws(
      () => versionCodec.decode(r, {}),
      (e) => e instanceof WireError && e.field === 'RequestResponseCode' && e.offset === 1,
    );
  });
});
