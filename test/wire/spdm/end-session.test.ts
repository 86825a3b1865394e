/** END_SESSION / END_SESSION_ACK (src/wire/spdm/end-session.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_END_SESSION, SPDM_END_SESSION_ACK } from '../../../src/wire/spdm/constants.ts';
import {
  checkBytesRoundTrip,
  checkFamilyRobust,
  checkMessageRoundTrip,
} from '../../support/spdm-arbitraries-session.ts';

describe('END_SESSION / END_SESSION_ACK', () => {
  test('param1 bit 0 is the preservation indicator; bits 7:1 are kept apart', () => {
    assert.deepStrictEqual(decodeSpdm(fromHex('13ec0100')), {
      version: 0x13,
      code: SPDM_END_SESSION,
      preserveNegotiatedStateClear: true,
      param1Reserved: undefined,
      param2Reserved: undefined,
    });
    const b = fromHex('12ec8204');
    const m = decodeSpdm(b);
    assert.deepStrictEqual(m, {
      version: 0x12,
      code: SPDM_END_SESSION,
      preserveNegotiatedStateClear: false,
      param1Reserved: 0x82,
      param2Reserved: 0x04,
    });
    assert.deepStrictEqual(encodeSpdm(m), b);
    assert.deepStrictEqual(decodeSpdm(fromHex('116c0000')), {
      version: 0x11,
      code: SPDM_END_SESSION_ACK,
      param1Reserved: undefined,
      param2Reserved: undefined,
    });
  });

  test('an encoder given bit 0 in param1Reserved refuses it', () => {
    assert.throws(
      () =>
        encodeSpdm({
          version: 0x13,
          code: SPDM_END_SESSION,
          preserveNegotiatedStateClear: false,
          param1Reserved: 0x01,
        }),
      RangeError,
    );
  });

  test('message -> bytes -> message', () => checkMessageRoundTrip('end-session'));
  test('decodable bytes -> message -> same bytes', () => checkBytesRoundTrip('end-session'));
  test('robust on hostile input', () => checkFamilyRobust('end-session'));
});
