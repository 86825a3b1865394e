/** KEY_UPDATE / KEY_UPDATE_ACK (src/wire/spdm/key-update.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import {
  SPDM_KEY_UPDATE,
  SPDM_KEY_UPDATE_ACK,
  SPDM_KEY_UPDATE_OP,
} from '../../../src/wire/spdm/constants.ts';
import {
  checkBytesRoundTrip,
  checkFamilyRobust,
  checkMessageRoundTrip,
} from '../../support/spdm-arbitraries-session.ts';

describe('KEY_UPDATE / KEY_UPDATE_ACK', () => {
  test('param1 is the operation, param2 the tag', () => {
    assert.deepStrictEqual(decodeSpdm(fromHex('13e902b4')), {
      version: 0x13,
      code: SPDM_KEY_UPDATE,
      keyOperation: SPDM_KEY_UPDATE_OP.UpdateAllKeys,
      tag: 0xb4,
    });
    assert.deepStrictEqual(decodeSpdm(fromHex('11690317')), {
      version: 0x11,
      code: SPDM_KEY_UPDATE_ACK,
      keyOperation: SPDM_KEY_UPDATE_OP.VerifyNewKey,
      tag: 0x17,
    });
  });

  test('an unknown operation decodes to its number and re-encodes unchanged', () => {
    const b = fromHex('12e9f700');
    const m = decodeSpdm(b);
    assert.equal((m as { keyOperation: number }).keyOperation, 0xf7);
    assert.deepStrictEqual(encodeSpdm(m), b);
  });

  test('refuses SPDM 1.0', () => {
    assert.throws(() => decodeSpdm(fromHex('10e90101')), {
      name: 'WireError',
      field: 'SPDMVersion',
    });
  });

  test('message -> bytes -> message', () => checkMessageRoundTrip('key-update'));
  test('decodable bytes -> message -> same bytes', () => checkBytesRoundTrip('key-update'));
  test('robust on hostile input', () => checkFamilyRobust('key-update'));
});
