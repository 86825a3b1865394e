import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_RESPOND_IF_READY } from '../../../src/wire/spdm/constants.ts';
import {
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

describe('SPDM RESPOND_IF_READY', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('respond-if-ready'));
  test('decodable bytes re-encode to themselves', () =>
    checkAuthBytesRoundTrip('respond-if-ready'));
  test('robust on hostile input', () => checkAuthRobust('respond-if-ready'));

  test('Param1 = the request code, Param2 = the token of ResponseNotReady', () => {
    const bytes = fromHex('12 ff e0 05');
    assert.deepEqual(decodeSpdm(bytes), {
      version: 0x12,
      code: SPDM_RESPOND_IF_READY,
      requestCode: 0xe0,
      token: 5,
    });
    assert.deepEqual(encodeSpdm(decodeSpdm(bytes)), bytes);
    assert.throws(
      () => decodeSpdm(fromHex('12 ff e0 05 00')),
      (e) => e instanceof WireError && e.kind === 'trailing' && e.offset === 4,
    );
  });
});
