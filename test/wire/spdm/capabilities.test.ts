import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import {
  type Capabilities,
  capFlagsToNames,
  capNamesToFlags,
  type GetCapabilities,
} from '../../../src/wire/spdm/capabilities.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_CAPABILITIES,
  SPDM_GET_CAPABILITIES,
} from '../../../src/wire/spdm/constants.ts';
import {
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

const req = (version: number, rest: Partial<GetCapabilities> = {}): GetCapabilities => ({
  version,
  code: SPDM_GET_CAPABILITIES,
  param1: 0,
  ...rest,
});

describe('SPDM GET_CAPABILITIES / CAPABILITIES', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('capabilities'));
  test('decodable bytes re-encode to themselves', () => checkAuthBytesRoundTrip('capabilities'));
  test('robust on hostile input', () => checkAuthRobust('capabilities'));

  test('the 1.3 request of spdm-emu --cap CERT,CHAL,ENCRYPT,MAC,KEY_EX,PSK,ENCAP,HBEAT,KEY_UPD', () => {
    const bytes = fromHex('13 e1 00 00 00 00 00 00 c6 76 00 00 00 12 00 00 00 12 00 00');
    const m = decodeSpdm(bytes) as GetCapabilities;
    assert.equal(m.flags, 0x76c6);
    assert.deepEqual(capFlagsToNames(m.flags ?? 0), [
      'CERT_CAP',
      'CHAL_CAP',
      'ENCRYPT_CAP',
      'MAC_CAP',
      'KEY_EX_CAP',
      'PSK_CAP_RESPONDER',
      'ENCAP_CAP',
      'HBEAT_CAP',
      'KEY_UPD_CAP',
    ]);
    assert.equal(m.dataTransferSize, 0x1200);
    assert.equal(m.maxSpdmMsgSize, 0x1200);
    assert.deepEqual(encodeSpdm(m), bytes);
  });

  test('request is 4 / 12 / 20 bytes in 1.0 / 1.1 / 1.2+', () => {
    assert.deepEqual(encodeSpdm(req(0x10)), fromHex('10 e1 00 00'));
    assert.deepEqual(
      encodeSpdm(req(0x11, { ctExponent: 0x0c, flags: 0x12345678 })),
      fromHex('11 e1 00 00 00 0c 00 00 78 56 34 12'),
    );
    const v12 = req(0x12, { ctExponent: 1, flags: 2, dataTransferSize: 3, maxSpdmMsgSize: 4 });
    assert.deepEqual(
      encodeSpdm(v12),
      fromHex('12 e1 00 00 00 01 00 00 02 00 00 00 03 00 00 00 04 00 00 00'),
    );
  });

  test('response is 12 bytes in 1.0 and 1.1, 20 from 1.2', () => {
    for (const version of [0x10, 0x11]) {
      const m = decodeSpdm(
        Uint8Array.from([version, 0x61, 0, 0, 0, 0x0a, 0, 0, 0x17, 0, 0, 0]),
      ) as Capabilities;
      assert.equal(m.ctExponent, 0x0a);
      assert.equal(m.flags, SPDM_CAP.CACHE_CAP | SPDM_CAP.CERT_CAP | SPDM_CAP.CHAL_CAP | 0x10);
      assert.equal(m.dataTransferSize, undefined);
    }
    assert.throws(
      () => decodeSpdm(fromHex('12 61 00 00 00 00 00 00 00 00 00 00')),
      (e) => e instanceof WireError && e.kind === 'truncated' && e.field === 'DataTransferSize',
    );
  });

  test('1.3 Supported Algorithms block: kept raw when asked for, trailing otherwise', () => {
    const bytes = fromHex('13 61 01 00 00 00 00 00 02 00 00 00 00 10 00 00 00 10 00 00 aa bb');
    const m = decodeSpdm(bytes) as Capabilities;
    assert.equal(m.code, SPDM_CAPABILITIES);
    assert.deepEqual(m.supportedAlgorithms, fromHex('aa bb'));
    assert.deepEqual(encodeSpdm(m), bytes);
    const asked = req(0x13, {
      param1: 1,
      ctExponent: 0,
      flags: 0,
      dataTransferSize: 0,
      maxSpdmMsgSize: 0,
    });
    assert.deepEqual(decodeSpdm(bytes, { request: asked }), m);
    const notAsked = { ...asked, param1: 0 };
    assert.throws(
      () => decodeSpdm(bytes, { request: notAsked }),
      (e) => e instanceof WireError && e.kind === 'trailing',
    );
    assert.throws(
      () => decodeSpdm(Uint8Array.from([0x12, ...bytes.subarray(1)])),
      (e) => e instanceof WireError && e.kind === 'trailing',
    );
  });

  test('encoder refuses fields the version does not have', () => {
    assert.throws(() => encodeSpdm(req(0x10, { flags: 1 })), RangeError);
    assert.throws(() => encodeSpdm(req(0x11)), RangeError);
    assert.throws(
      () => encodeSpdm(req(0x11, { ctExponent: 0, flags: 0, dataTransferSize: 1 })),
      RangeError,
    );
    assert.throws(() => encodeSpdm(req(0x14)), RangeError);
  });

  test('versions without a known layout are refused', () => {
    assert.throws(
      () => decodeSpdm(fromHex('14 e1 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00')),
      (e) => e instanceof WireError && e.field === 'SPDMVersion' && e.kind === 'bad-field',
    );
  });

  test('capNamesToFlags inverts capFlagsToNames', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (flags) => {
        assert.equal(capNamesToFlags(capFlagsToNames(flags)), flags);
      }),
    );
    assert.equal(capNamesToFlags(['LARGE_RESP_CAP', 'CACHE_CAP']), 0x80000001);
  });
});
