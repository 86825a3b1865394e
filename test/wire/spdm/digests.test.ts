import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_DIGESTS, SPDM_GET_DIGESTS } from '../../../src/wire/spdm/constants.ts';
import { type Digests, slotsOfMask } from '../../../src/wire/spdm/digests.ts';
import {
  canon,
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

const H32 = { sizes: { hashSize: 32, signatureSize: 64, dheSize: 64 } };
const d = (fill: number, n = 32) => new Uint8Array(n).fill(fill);

describe('SPDM GET_DIGESTS / DIGESTS', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('digests'));
  test('decodable bytes re-encode to themselves', () => checkAuthBytesRoundTrip('digests'));
  test('robust on hostile input', () => checkAuthRobust('digests'));

  test('GET_DIGESTS is the bare header', () => {
    assert.deepEqual(canon(decodeSpdm(fromHex('12 81 00 00'))), {
      version: 0x12,
      code: SPDM_GET_DIGESTS,
    });
  });

  test('one H-byte digest per slot-mask bit, lowest slot first', () => {
    const bytes = Uint8Array.from([0x12, 0x01, 0x00, 0x05, ...d(0xaa), ...d(0xbb)]);
    const m = decodeSpdm(bytes, H32) as Digests;
    assert.equal(m.slotMask, 0x05);
    assert.deepEqual(slotsOfMask(m.slotMask), [0, 2]);
    assert.deepEqual(m.digests, [d(0xaa), d(0xbb)]);
    assert.equal(m.keyPairIds, undefined);
    assert.deepEqual(encodeSpdm(m, H32), bytes);
  });

  test('1.3 multi-key arrays after the digests, recognised by their size', () => {
    const tail = fromHex('05 11 01 02 0f 00 01 80');
    const bytes = Uint8Array.from([0x13, 0x01, 0x03, 0x03, ...d(1), ...d(2), ...tail]);
    const m = decodeSpdm(bytes, H32) as Digests;
    assert.equal(m.supportedSlotMask, 0x03);
    assert.deepEqual(m.keyPairIds, [5, 0x11]);
    assert.deepEqual(m.certificateInfos, [1, 2]);
    assert.deepEqual(m.keyUsageMasks, [0x000f, 0x8001]);
    assert.deepEqual(encodeSpdm(m, H32), bytes);
    // Before 1.3 the same tail is trailing garbage; so is any tail that is not 4 bytes a slot.
    assert.throws(
      () => decodeSpdm(Uint8Array.from([0x12, ...bytes.subarray(1)]), H32),
      (e) => e instanceof WireError && e.kind === 'trailing',
    );
    assert.throws(
      () => decodeSpdm(bytes.subarray(0, bytes.length - 1), H32),
      (e) => e instanceof WireError && e.kind === 'trailing',
    );
  });

  test('the hash size comes from the context', () => {
    const bytes = Uint8Array.from([0x12, 0x01, 0x00, 0x01, ...d(1)]);
    assert.throws(
      () => decodeSpdm(bytes),
      (e) => e instanceof WireError && e.field === 'ctx.sizes.hashSize' && e.kind === 'bad-field',
    );
    assert.throws(
      () => decodeSpdm(bytes, { sizes: { hashSize: 48, signatureSize: 96, dheSize: 96 } }),
      (e) => e instanceof WireError && e.kind === 'truncated' && e.field === 'Digest',
    );
  });

  test('encoder checks digests against the mask and the multi-key arrays against 1.3', () => {
    const m: Digests = {
      version: 0x12,
      code: SPDM_DIGESTS,
      supportedSlotMask: 0,
      slotMask: 3,
      digests: [d(1)],
    };
    assert.throws(() => encodeSpdm(m, H32), RangeError);
    const two = { ...m, digests: [d(1), d(2)] };
    assert.throws(() => encodeSpdm({ ...two, digests: [d(1, 31), d(2)] }, H32), RangeError);
    const multi = { ...two, keyPairIds: [1, 2], certificateInfos: [1, 1], keyUsageMasks: [1, 1] };
    assert.throws(() => encodeSpdm(multi, H32), RangeError);
    assert.equal(encodeSpdm({ ...multi, version: 0x13 }, H32).length, 4 + 64 + 8);
    assert.throws(() => encodeSpdm({ ...multi, version: 0x13, keyPairIds: [1] }, H32), RangeError);
  });
});
