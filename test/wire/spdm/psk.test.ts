/** PSK_EXCHANGE / PSK_EXCHANGE_RSP / PSK_FINISH / PSK_FINISH_RSP (src/wire/spdm/psk.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { concat, fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import {
  SPDM_PSK_EXCHANGE,
  SPDM_PSK_EXCHANGE_RSP,
  SPDM_PSK_FINISH,
  SPDM_PSK_FINISH_RSP,
} from '../../../src/wire/spdm/constants.ts';
import type { PskExchange, PskExchangeRsp } from '../../../src/wire/spdm/psk.ts';
import {
  checkBytesRoundTrip,
  checkFamilyRobust,
  checkMessageRoundTrip,
  P256_RSA_SIZES,
  P384_SIZES,
} from '../../support/spdm-arbitraries-session.ts';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('PSK_EXCHANGE', () => {
  test('1.2+: param2 is SessionPolicy; lengths precede hint, context and opaque data', () => {
    const bytes = concat(
      fromHex('13e6 01 01  feff  0300 0500 0200'),
      fromHex('414243'),
      fill(5, 0xcc),
      fromHex('dead'),
    );
    const m = decodeSpdm(bytes);
    assert.deepStrictEqual(m, {
      version: 0x13,
      code: SPDM_PSK_EXCHANGE,
      measurementSummaryHashType: 1,
      sessionPolicy: 1,
      param2Reserved: undefined,
      reqSessionId: 0xfffe,
      pskHint: fromHex('414243'),
      requesterContext: fill(5, 0xcc),
      opaqueData: fromHex('dead'),
    } satisfies PskExchange);
    assert.deepStrictEqual(encodeSpdm(m), bytes);
  });

  test('1.1: param2 is reserved', () => {
    const bytes = fromHex('11e6 00 7f 0100 0000 0000 0000');
    const m = decodeSpdm(bytes) as PskExchange;
    assert.equal(m.sessionPolicy, 0);
    assert.equal(m.param2Reserved, 0x7f);
    assert.deepStrictEqual(encodeSpdm(m), bytes);
    assert.throws(() => encodeSpdm({ ...m, version: 0x12 }), RangeError);
  });

  test('a length beyond the message is truncated, not trusted', () => {
    assert.throws(() => decodeSpdm(fromHex('12e6 0000 0100 ffff 0000 0000 00')), {
      field: 'PSKHint',
      kind: 'truncated',
      offset: 12,
    });
  });
});

describe('PSK_EXCHANGE_RSP', () => {
  const req = (hashType: number): PskExchange => ({
    version: 0x12,
    code: SPDM_PSK_EXCHANGE,
    measurementSummaryHashType: hashType,
    sessionPolicy: 0,
    reqSessionId: 0xfffe,
    pskHint: new Uint8Array(0),
    requesterContext: new Uint8Array(0),
    opaqueData: new Uint8Array(0),
  });

  test('summary hash before ResponderContext when requested', () => {
    const ctx = { sizes: P384_SIZES, request: req(0xff) };
    const bytes = concat(
      fromHex('1266f000 feff 0000 0400 0100'),
      fill(48, 1),
      fill(4, 2),
      fromHex('99'),
      fill(48, 3),
    );
    const m = decodeSpdm(bytes, ctx);
    assert.deepStrictEqual(m, {
      version: 0x12,
      code: SPDM_PSK_EXCHANGE_RSP,
      heartbeatPeriod: 0xf0,
      param2Reserved: undefined,
      rspSessionId: 0xfffe,
      reserved: undefined,
      measurementSummaryHash: fill(48, 1),
      responderContext: fill(4, 2),
      opaqueData: fromHex('99'),
      verifyData: fill(48, 3),
    } satisfies PskExchangeRsp);
    assert.deepStrictEqual(encodeSpdm(m, ctx), bytes);
  });

  test('no summary hash when none was requested; needs ctx.request', () => {
    const ctx = { sizes: P256_RSA_SIZES, request: req(0) };
    const bytes = concat(fromHex('11660001 0100 3412 0000 0000'), fill(32, 3));
    const m = decodeSpdm(bytes, ctx) as PskExchangeRsp;
    assert.equal(m.measurementSummaryHash, undefined);
    assert.equal(m.param2Reserved, 1);
    assert.equal(m.reserved, 0x1234);
    assert.deepStrictEqual(encodeSpdm(m, ctx), bytes);
    assert.throws(() => decodeSpdm(bytes, { sizes: P256_RSA_SIZES }), {
      field: 'MeasurementSummaryHash',
      kind: 'bad-field',
    });
  });
});

describe('PSK_FINISH / PSK_FINISH_RSP', () => {
  test('PSK_FINISH carries RequesterVerifyData[H]; the response is a bare header', () => {
    const bytes = concat(fromHex('13e70000'), fill(48, 6));
    assert.deepStrictEqual(decodeSpdm(bytes, { sizes: P384_SIZES }), {
      version: 0x13,
      code: SPDM_PSK_FINISH,
      param1Reserved: undefined,
      param2Reserved: undefined,
      verifyData: fill(48, 6),
    });
    assert.deepStrictEqual(decodeSpdm(fromHex('13670000')), {
      version: 0x13,
      code: SPDM_PSK_FINISH_RSP,
      param1Reserved: undefined,
      param2Reserved: undefined,
    });
  });
});

describe('PSK family properties', () => {
  test('message -> bytes -> message', () => checkMessageRoundTrip('psk'));
  test('decodable bytes -> message -> same bytes', () => checkBytesRoundTrip('psk'));
  test('robust on hostile input', () => checkFamilyRobust('psk'));
});
