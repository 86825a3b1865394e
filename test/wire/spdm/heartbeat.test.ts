/** HEARTBEAT / HEARTBEAT_ACK (src/wire/spdm/heartbeat.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_HEARTBEAT, SPDM_HEARTBEAT_ACK } from '../../../src/wire/spdm/constants.ts';
import {
  checkBytesRoundTrip,
  checkFamilyRobust,
  checkMessageRoundTrip,
} from '../../support/spdm-arbitraries-session.ts';

describe('HEARTBEAT / HEARTBEAT_ACK', () => {
  test('decodes the 4-byte messages and keeps non-zero reserved params', () => {
    assert.deepStrictEqual(decodeSpdm(fromHex('13e80000')), {
      version: 0x13,
      code: SPDM_HEARTBEAT,
      param1Reserved: undefined,
      param2Reserved: undefined,
    });
    const odd = fromHex('12685a01');
    const m = decodeSpdm(odd);
    assert.deepStrictEqual(m, {
      version: 0x12,
      code: SPDM_HEARTBEAT_ACK,
      param1Reserved: 0x5a,
      param2Reserved: 0x01,
    });
    assert.deepStrictEqual(encodeSpdm(m), odd);
  });

  test('refuses SPDM 1.0, short and long messages with a WireError', () => {
    assert.throws(() => decodeSpdm(fromHex('10e80000')), {
      name: 'WireError',
      field: 'SPDMVersion',
      kind: 'bad-field',
    });
    assert.throws(() => decodeSpdm(fromHex('13e800')), { name: 'WireError', kind: 'truncated' });
    assert.throws(
      () => decodeSpdm(fromHex('13e8000000')),
      (e) => {
        return e instanceof WireError && e.kind === 'trailing' && e.offset === 4;
      },
    );
    assert.throws(() => encodeSpdm({ version: 0x10, code: SPDM_HEARTBEAT }), RangeError);
  });

  test('message -> bytes -> message', () => checkMessageRoundTrip('heartbeat'));
  test('decodable bytes -> message -> same bytes', () => checkBytesRoundTrip('heartbeat'));
  test('robust on hostile input', () => checkFamilyRobust('heartbeat'));
});
