import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_ERROR, SPDM_ERROR_CODE } from '../../../src/wire/spdm/constants.ts';
import type { ErrorResponse } from '../../../src/wire/spdm/error.ts';
import {
  canon,
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

describe('SPDM ERROR', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('error'));
  test('decodable bytes re-encode to themselves', () => checkAuthBytesRoundTrip('error'));
  test('robust on hostile input', () => checkAuthRobust('error'));

  test('ResponseNotReady: RDTExponent, RequestCode, Token, RDTM', () => {
    const bytes = fromHex('12 7f 42 00 0a e0 05 03');
    const m = decodeSpdm(bytes) as ErrorResponse;
    assert.deepEqual(canon(m), {
      version: 0x12,
      code: SPDM_ERROR,
      errorCode: SPDM_ERROR_CODE.ResponseNotReady,
      errorData: 0,
      responseNotReady: { rdtExponent: 10, requestCode: 0xe0, token: 5, rdtm: 3 },
    });
    assert.deepEqual(encodeSpdm(m), bytes);
    assert.throws(
      () => decodeSpdm(bytes.subarray(0, 7)),
      (e) => e instanceof WireError && e.field === 'RDTM' && e.kind === 'truncated',
    );
    assert.throws(
      () => decodeSpdm(fromHex('12 7f 42 00 0a e0 05 03 00')),
      (e) => e instanceof WireError && e.kind === 'trailing',
    );
  });

  test('other codes keep their extended data raw, at most 32 bytes, at any version', () => {
    const vm = decodeSpdm(fromHex('10 7f 41 00')) as ErrorResponse;
    assert.equal(vm.errorCode, SPDM_ERROR_CODE.VersionMismatch);
    assert.deepEqual(vm.extendedData, new Uint8Array(0));
    const large = fromHex('13 7f 0f 00 07');
    assert.deepEqual((decodeSpdm(large) as ErrorResponse).extendedData, fromHex('07'));
    const any = fromHex('20 7f 99 01 01 02');
    assert.deepEqual(encodeSpdm(decodeSpdm(any)), any);
    const tooMuch = Uint8Array.from([0x12, 0x7f, 0xff, 0, ...new Uint8Array(33)]);
    assert.throws(
      () => decodeSpdm(tooMuch),
      (e) => e instanceof WireError && e.kind === 'too-large' && e.offset === 4,
    );
    assert.throws(
      () =>
        encodeSpdm({
          version: 0x12,
          code: SPDM_ERROR,
          errorCode: 0xff,
          errorData: 0,
          extendedData: new Uint8Array(33),
        }),
      RangeError,
    );
  });

  test('encoder keeps ResponseNotReady data and raw data apart', () => {
    const base = { version: 0x12, code: SPDM_ERROR, errorData: 0 } as const;
    assert.throws(
      () => encodeSpdm({ ...base, errorCode: SPDM_ERROR_CODE.ResponseNotReady }),
      RangeError,
    );
    const rnr = { rdtExponent: 1, requestCode: 2, token: 3, rdtm: 4 };
    assert.throws(() => encodeSpdm({ ...base, errorCode: 1, responseNotReady: rnr }), RangeError);
    assert.deepEqual(encodeSpdm({ ...base, errorCode: 1 }), fromHex('12 7f 01 00'));
  });
});
