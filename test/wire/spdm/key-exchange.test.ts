/**
 * KEY_EXCHANGE / KEY_EXCHANGE_RSP (src/wire/spdm/key-exchange.ts). Expected bytes are built
 * here field by field; the libspdm captures are checked in session-captures.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { concat, fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_KEY_EXCHANGE, SPDM_KEY_EXCHANGE_RSP } from '../../../src/wire/spdm/constants.ts';
import type { SpdmCodecContext } from '../../../src/wire/spdm/context.ts';
import {
  type KeyExchange,
  type KeyExchangeRsp,
  sessionIdOf,
} from '../../../src/wire/spdm/key-exchange.ts';
import {
  checkBytesRoundTrip,
  checkFamilyRobust,
  checkMessageRoundTrip,
  P256_RSA_SIZES,
  P384_SIZES,
} from '../../support/spdm-arbitraries-session.ts';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('KEY_EXCHANGE', () => {
  test('1.2+: byte 6 is SessionPolicy, byte 7 reserved', () => {
    const bytes = concat(
      fromHex('13e4ff03 fffe 02 00'),
      fill(32, 0xaa),
      fill(96, 0xbb),
      fromHex('0400 01020304'),
    );
    const m = decodeSpdm(bytes, { sizes: P384_SIZES });
    assert.deepStrictEqual(m, {
      version: 0x13,
      code: SPDM_KEY_EXCHANGE,
      measurementSummaryHashType: 0xff,
      slotId: 3,
      reqSessionId: 0xfeff,
      sessionPolicy: 2,
      reserved: undefined,
      randomData: fill(32, 0xaa),
      exchangeData: fill(96, 0xbb),
      opaqueData: fromHex('01020304'),
    } satisfies KeyExchange);
    assert.deepStrictEqual(encodeSpdm(m, { sizes: P384_SIZES }), bytes);
  });

  test('1.1: bytes 6-7 are one reserved u16 and SessionPolicy does not exist', () => {
    const bytes = concat(fromHex('11e40100 3412 0180'), fill(32, 1), fill(64, 2), fromHex('0000'));
    const m = decodeSpdm(bytes, { sizes: P256_RSA_SIZES }) as KeyExchange;
    assert.equal(m.sessionPolicy, 0);
    assert.equal(m.reserved, 0x8001);
    assert.equal(m.reqSessionId, 0x1234);
    assert.deepStrictEqual(encodeSpdm(m, { sizes: P256_RSA_SIZES }), bytes);
    assert.throws(() => encodeSpdm({ ...m, sessionPolicy: 1 }), RangeError);
  });

  test('needs ctx.sizes, refuses 1.0 and a short ExchangeData', () => {
    const bytes = concat(fromHex('12e40000 0100 0000'), fill(32, 0), fill(96, 0), fromHex('0000'));
    assert.throws(() => decodeSpdm(bytes), {
      name: 'WireError',
      field: 'ExchangeData',
      kind: 'bad-field',
    });
    const v10 = bytes.slice();
    v10[0] = 0x10;
    assert.throws(() => decodeSpdm(v10, { sizes: P384_SIZES }), { field: 'SPDMVersion' });
    assert.throws(() => decodeSpdm(bytes.subarray(0, 100), { sizes: P384_SIZES }), {
      field: 'ExchangeData',
      kind: 'truncated',
      offset: 40,
    });
    // P-256 sizes leave 32 bytes that then read as a bogus OpaqueDataLength.
    assert.throws(() => decodeSpdm(bytes, { sizes: P256_RSA_SIZES }), { name: 'WireError' });
  });
});

describe('KEY_EXCHANGE_RSP', () => {
  const req = (hashType: number): KeyExchange => ({
    version: 0x12,
    code: SPDM_KEY_EXCHANGE,
    measurementSummaryHashType: hashType,
    slotId: 0,
    reqSessionId: 0xffff,
    sessionPolicy: 0,
    randomData: new Uint8Array(32),
    exchangeData: new Uint8Array(96),
    opaqueData: new Uint8Array(0),
  });
  const fixed = fromHex('1264f000 fdff 01 02');

  test('with summary hash and VerifyData (libspdm default)', () => {
    const ctx: SpdmCodecContext = { sizes: P384_SIZES, request: req(0xff) };
    const bytes = concat(
      fixed,
      fill(32, 1),
      fill(96, 2),
      fill(48, 3),
      fromHex('0200 abcd'),
      fill(96, 4),
      fill(48, 5),
    );
    const m = decodeSpdm(bytes, ctx);
    assert.deepStrictEqual(m, {
      version: 0x12,
      code: SPDM_KEY_EXCHANGE_RSP,
      heartbeatPeriod: 0xf0,
      param2Reserved: undefined,
      rspSessionId: 0xfffd,
      mutAuthRequested: 1,
      reqSlotIdParam: 2,
      randomData: fill(32, 1),
      exchangeData: fill(96, 2),
      measurementSummaryHash: fill(48, 3),
      opaqueData: fromHex('abcd'),
      signature: fill(96, 4),
      verifyData: fill(48, 5),
    } satisfies KeyExchangeRsp);
    assert.deepStrictEqual(encodeSpdm(m, ctx), bytes);
    assert.equal(sessionIdOf(req(0), m as KeyExchangeRsp), 0xfffdffff);
  });

  test('no summary hash when the request asked none; no VerifyData in the clear', () => {
    const ctx: SpdmCodecContext = {
      sizes: P256_RSA_SIZES,
      request: req(0),
      handshakeInTheClear: true,
    };
    const bytes = concat(fixed, fill(32, 1), fill(64, 2), fromHex('0000'), fill(64, 4));
    const m = decodeSpdm(bytes, ctx) as KeyExchangeRsp;
    assert.equal(m.measurementSummaryHash, undefined);
    assert.equal(m.verifyData, undefined);
    assert.deepStrictEqual(m.signature, fill(64, 4));
    assert.deepStrictEqual(encodeSpdm(m, ctx), bytes);
    // The same bytes are one VerifyData short when the handshake is encrypted.
    assert.throws(() => decodeSpdm(bytes, { ...ctx, handshakeInTheClear: false }), {
      field: 'ResponderVerifyData',
      kind: 'truncated',
    });
  });

  test('needs the KEY_EXCHANGE request in ctx.request', () => {
    const bytes = concat(fixed, fill(32, 1), fill(96, 2), fromHex('0000'), fill(96 + 48, 0));
    assert.throws(() => decodeSpdm(bytes, { sizes: P384_SIZES }), {
      name: 'WireError',
      field: 'MeasurementSummaryHash',
      kind: 'bad-field',
    });
  });

  test('encoder checks fixed sizes against ctx.sizes', () => {
    const ctx: SpdmCodecContext = { sizes: P384_SIZES, request: req(0) };
    const m: KeyExchangeRsp = {
      version: 0x12,
      code: SPDM_KEY_EXCHANGE_RSP,
      heartbeatPeriod: 0,
      rspSessionId: 1,
      mutAuthRequested: 0,
      reqSlotIdParam: 0,
      randomData: fill(32, 0),
      exchangeData: fill(96, 0),
      opaqueData: new Uint8Array(0),
      signature: fill(64, 0),
      verifyData: fill(48, 0),
    };
    assert.throws(() => encodeSpdm(m, ctx), /Signature/);
    assert.throws(() => encodeSpdm({ ...m, randomData: fill(31, 0) }), /RandomData/);
  });
});

describe('KEY_EXCHANGE family properties', () => {
  test('message -> bytes -> message', () => checkMessageRoundTrip('key-exchange'));
  test('decodable bytes -> message -> same bytes', () => checkBytesRoundTrip('key-exchange'));
  test('robust on hostile input', () => checkFamilyRobust('key-exchange'));
});
