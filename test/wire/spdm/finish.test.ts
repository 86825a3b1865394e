/** FINISH / FINISH_RSP (src/wire/spdm/finish.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { concat, fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_FINISH, SPDM_FINISH_RSP } from '../../../src/wire/spdm/constants.ts';
import type { Finish } from '../../../src/wire/spdm/finish.ts';
import {
  checkBytesRoundTrip,
  checkFamilyRobust,
  checkMessageRoundTrip,
  P256_RSA_SIZES,
  P384_SIZES,
} from '../../support/spdm-arbitraries-session.ts';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('FINISH', () => {
  test('without signature: header + RequesterVerifyData[H]', () => {
    const bytes = concat(fromHex('13e50000'), fill(48, 7));
    assert.deepStrictEqual(decodeSpdm(bytes, { sizes: P384_SIZES }), {
      version: 0x13,
      code: SPDM_FINISH,
      signatureIncluded: false,
      param1Reserved: undefined,
      reqSlotId: 0,
      signature: undefined,
      verifyData: fill(48, 7),
    } satisfies Finish);
  });

  test('with signature sized by the requester algorithm, reserved param1 bits kept', () => {
    // P256_RSA_SIZES: S = 64 for the Responder, 256 for the Requester (mutual auth).
    const bytes = concat(fromHex('12e5 41 02'), fill(256, 1), fill(32, 2));
    const m = decodeSpdm(bytes, { sizes: P256_RSA_SIZES }) as Finish;
    assert.equal(m.signatureIncluded, true);
    assert.equal(m.param1Reserved, 0x40);
    assert.equal(m.reqSlotId, 2);
    assert.deepStrictEqual(m.signature, fill(256, 1));
    assert.deepStrictEqual(m.verifyData, fill(32, 2));
    assert.deepStrictEqual(encodeSpdm(m, { sizes: P256_RSA_SIZES }), bytes);
  });

  test('signature presence must match the flag', () => {
    const m: Finish = {
      version: 0x12,
      code: SPDM_FINISH,
      signatureIncluded: true,
      reqSlotId: 0,
      verifyData: fill(48, 0),
    };
    assert.throws(() => encodeSpdm(m), RangeError);
    assert.throws(
      () => encodeSpdm({ ...m, signatureIncluded: false, signature: fill(96, 0) }),
      RangeError,
    );
  });
});

describe('FINISH_RSP', () => {
  test('header only when the handshake is encrypted', () => {
    assert.deepStrictEqual(decodeSpdm(fromHex('13650000'), { sizes: P384_SIZES }), {
      version: 0x13,
      code: SPDM_FINISH_RSP,
      param1Reserved: undefined,
      param2Reserved: undefined,
      verifyData: undefined,
    });
    assert.throws(() => decodeSpdm(concat(fromHex('13650000'), fill(48, 0)), {}), {
      kind: 'trailing',
    });
  });

  test('ResponderVerifyData[H] in a handshake in the clear', () => {
    const ctx = { sizes: P384_SIZES, handshakeInTheClear: true };
    const bytes = concat(fromHex('12650000'), fill(48, 9));
    const m = decodeSpdm(bytes, ctx);
    assert.deepStrictEqual((m as { verifyData?: Uint8Array }).verifyData, fill(48, 9));
    assert.deepStrictEqual(encodeSpdm(m, ctx), bytes);
    assert.throws(() => decodeSpdm(bytes, { handshakeInTheClear: true }), {
      field: 'ResponderVerifyData',
      kind: 'bad-field',
    });
  });
});

describe('FINISH family properties', () => {
  test('message -> bytes -> message', () => checkMessageRoundTrip('finish'));
  test('decodable bytes -> message -> same bytes', () => checkBytesRoundTrip('finish'));
  test('robust on hostile input', () => checkFamilyRobust('finish'));
});
