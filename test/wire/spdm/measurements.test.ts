import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../../../src/wire/errors.ts';
import { concat, fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import * as C from '../../../src/wire/spdm/constants.ts';
import {
  decodeMeasurementRecord,
  encodeMeasurementRecord,
  type GetMeasurements,
  type Measurements,
} from '../../../src/wire/spdm/measurements.ts';
import { checkRobust } from '../../support/robust.ts';
import {
  arbMeasurementBlock,
  canon,
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const sizes = { hashSize: 48, signatureSize: 96, dheSize: 96 };
const get = (version: number, attributes: number, operation = 0xff): GetMeasurements => {
  const signed = (attributes & 1) !== 0;
  return {
    version,
    code: C.SPDM_GET_MEASUREMENTS,
    attributes,
    operation,
    nonce: signed ? fill(32, 0x11) : undefined,
    slotIdParam: signed && version >= 0x11 ? 0 : undefined,
    requesterContext: version >= 0x13 ? fill(8, 0x33) : undefined,
  };
};

// Two blocks built by hand: a DMTF digest of firmware, a raw block of another spec.
const RECORD = fromHex(
  '01 01 07 00 01 04 00 de ad be ef' + // index 1, DMTF, size 7: type 1 (mutable FW), 4-byte digest
    'fe 02 02 00 ab cd', // index 0xfe, spec 2, size 2, kept raw
);

describe('SPDM GET_MEASUREMENTS / MEASUREMENTS', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('measurements'));
  test('decodable bytes re-encode to themselves', () => checkAuthBytesRoundTrip('measurements'));
  test('robust on hostile input', () => checkAuthRobust('measurements'));

  test('GET_MEASUREMENTS sizes: 1.0 signed 36, 1.1 signed 37, unsigned 4, 1.3 adds 8', () => {
    assert.equal(encodeSpdm(get(0x10, 1)).length, 36);
    assert.equal(encodeSpdm(get(0x11, 1)).length, 37);
    assert.equal(encodeSpdm(get(0x12, 0)).length, 4);
    assert.equal(encodeSpdm(get(0x13, 0)).length, 12);
    assert.deepEqual(
      encodeSpdm(get(0x13, 1)),
      concat(fromHex('13 e0 01 ff'), fill(32, 0x11), fromHex('00'), fill(8, 0x33)),
    );
    assert.throws(() => encodeSpdm({ ...get(0x12, 0), nonce: fill(32, 0) }), RangeError);
    assert.throws(() => encodeSpdm({ ...get(0x10, 1), slotIdParam: 0 }), RangeError);
  });

  test('measurement record: DMTF blocks parsed, other specifications raw', () => {
    const blocks = decodeMeasurementRecord(RECORD);
    assert.deepEqual(blocks, [
      { kind: 'dmtf', index: 1, valueType: 1, rawBitStream: false, value: fromHex('de ad be ef') },
      { kind: 'raw', index: 0xfe, measurementSpecification: 2, measurement: fromHex('ab cd') },
    ]);
    assert.deepEqual(encodeMeasurementRecord(blocks), RECORD);
    const raw = decodeMeasurementRecord(fromHex('05 01 05 00 85 02 00 01 02'));
    assert.deepEqual(raw, [
      { kind: 'dmtf', index: 5, valueType: 5, rawBitStream: true, value: fromHex('01 02') },
    ]);
  });

  test('measurement record round trip and robustness', () => {
    fc.assert(
      fc.property(fc.array(arbMeasurementBlock, { maxLength: 8 }), (blocks) => {
        const b = encodeMeasurementRecord(blocks);
        assert.deepEqual(decodeMeasurementRecord(b), blocks);
      }),
    );
    checkRobust(
      'MeasurementRecord',
      fc.array(arbMeasurementBlock, { maxLength: 8 }).map(encodeMeasurementRecord),
      (b) => decodeMeasurementRecord(b),
      20_000,
    );
  });

  test('DMTF block sizes must agree', () => {
    assert.throws(
      () => decodeMeasurementRecord(fromHex('01 01 07 00 01 05 00 de ad be ef'), 8),
      (e) =>
        e instanceof WireError &&
        e.field === 'DMTFSpecMeasurementValueSize' &&
        e.offset === 13 &&
        e.kind === 'bad-field',
    );
    assert.throws(
      () => decodeMeasurementRecord(fromHex('01 01 02 00 01 00')),
      (e) => e instanceof WireError && e.field === 'MeasurementSize' && e.offset === 2,
    );
  });

  test('MEASUREMENTS signed 1.2 response, built by hand', () => {
    const bytes = concat(
      fromHex('12 60 00 21 02 11 00 00'), // slot 1, content changed 2, 2 blocks, record 0x11
      RECORD,
      fill(32, 0x0e),
      fromHex('02 00 aa bb'),
      fill(96, 0x51),
    );
    const ctx = { sizes, request: get(0x12, 1) };
    const m = decodeSpdm(bytes, ctx) as Measurements;
    assert.deepEqual([m.slotId, m.contentChanged, m.blocks.length], [1, 2, 2]);
    assert.deepEqual(m.opaqueData, fromHex('aa bb'));
    assert.deepEqual(m.signature, fill(96, 0x51));
    assert.deepEqual(encodeSpdm(m, ctx), bytes);
    // Without the request, what follows the opaque data is taken as the signature.
    assert.deepEqual(canon(decodeSpdm(bytes, { sizes })), canon(m));
    // An unsigned request leaves the signature as trailing bytes.
    assert.throws(
      () => decodeSpdm(bytes, { sizes, request: get(0x12, 0) }),
      (e) => e instanceof WireError && e.kind === 'trailing',
    );
  });

  test('the count response: Param1 = count, no blocks, empty record', () => {
    const bytes = concat(
      fromHex('13 60 08 00 00 00 00 00'),
      fill(32, 1),
      fromHex('00 00'),
      fill(8, 0x33),
    );
    const m = decodeSpdm(bytes, { request: get(0x13, 0, 0) }) as Measurements;
    assert.equal(m.totalNumberOfMeasurements, 8);
    assert.deepEqual(m.blocks, []);
    assert.equal(m.signature, undefined);
    assert.deepEqual(encodeSpdm(m), bytes);
  });

  test('NumberOfBlocks must match the record', () => {
    const bytes = concat(fromHex('12 60 00 00 03 11 00 00'), RECORD, fill(32, 0), fromHex('00 00'));
    assert.throws(
      () => decodeSpdm(bytes, { request: get(0x12, 0) }),
      (e) => e instanceof WireError && e.field === 'NumberOfBlocks' && e.offset === 4,
    );
  });

  test('a record that overruns the message is truncated', () => {
    const bytes = fromHex('12 60 00 00 01 ff 00 00 01 01');
    assert.throws(
      () => decodeSpdm(bytes, { request: get(0x12, 0) }),
      (e) => e instanceof WireError && e.field === 'MeasurementRecord' && e.kind === 'truncated',
    );
  });
});
