import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WireError } from '../../../src/wire/errors.ts';
import { fromHex } from '../../../src/wire/hex.ts';
import {
  type Algorithms,
  algorithmSizes,
  type NegotiateAlgorithms,
  selectedAlgorithms,
} from '../../../src/wire/spdm/algorithms.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import * as C from '../../../src/wire/spdm/constants.ts';
import {
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

// spdm-emu's 1.3 exchange (doe-spdm13-session frames #0012 / #0013).
const NEGOTIATE = fromHex(
  '13 e3 04 00 30 00 01 12 90 00 00 00 03 00 00 00' +
    '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01' +
    '02 20 1b 00 03 20 06 00 04 20 0f 00 05 20 01 00',
);
const ALGORITHMS = fromHex(
  '13 63 04 00 34 00 01 02 08 00 00 00 80 00 00 00' +
    '02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01' +
    '00 00 00 00 02 20 10 00 03 20 02 00 04 20 08 00 05 20 01 00',
);

describe('SPDM NEGOTIATE_ALGORITHMS / ALGORITHMS', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('algorithms'));
  test('decodable bytes re-encode to themselves', () => checkAuthBytesRoundTrip('algorithms'));
  test('robust on hostile input', () => checkAuthRobust('algorithms'));

  test("spdm-emu's request: fields and struct tables in order", () => {
    const m = decodeSpdm(NEGOTIATE) as NegotiateAlgorithms;
    assert.equal(m.measurementSpecification, C.SPDM_MEASUREMENT_SPEC_DMTF);
    assert.equal(m.otherParamsSupport, C.SPDM_ALGORITHMS_MULTI_KEY_CONN | C.SPDM_OPAQUE_DATA_FMT_1);
    assert.equal(
      m.baseAsymAlgo,
      C.SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P256 | C.SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P384,
    );
    assert.equal(m.baseHashAlgo, C.SPDM_HASH.TPM_ALG_SHA_256 | C.SPDM_HASH.TPM_ALG_SHA_384);
    assert.equal(m.melSpecification, 1);
    assert.deepEqual(
      m.algStructs.map((t) => [t.algType, t.algSupported, t.algExternal.length]),
      [
        [C.SPDM_ALG_TYPE_DHE, 0x1b, 0],
        [C.SPDM_ALG_TYPE_AEAD, 0x06, 0],
        [C.SPDM_ALG_TYPE_REQ_BASE_ASYM, 0x0f, 0],
        [C.SPDM_ALG_TYPE_KEY_SCHEDULE, 0x01, 0],
      ],
    );
    assert.deepEqual(encodeSpdm(m), NEGOTIATE);
  });

  test("spdm-emu's selection by name, and the sizes it fixes", () => {
    const m = decodeSpdm(ALGORITHMS) as Algorithms;
    assert.deepEqual(selectedAlgorithms(m), {
      measurementSpecification: 'DMTF',
      opaqueDataFormat: 'OPAQUE_DATA_FMT_1',
      multiKeyConn: false,
      measurementHash: 'TPM_ALG_SHA_512',
      baseAsym: 'TPM_ALG_ECDSA_ECC_NIST_P384',
      baseHash: 'TPM_ALG_SHA_384',
      melSpecification: 'DMTF',
      dhe: 'SECP_384_R1',
      aead: 'AES_256_GCM',
      reqBaseAsym: 'TPM_ALG_RSAPSS_3072',
      keySchedule: 'SPDM',
    });
    assert.deepEqual(algorithmSizes(m), {
      hashSize: 48,
      signatureSize: 96,
      dheSize: 96,
      reqSignatureSize: 384,
      measurementHashSize: 64,
    });
    assert.deepEqual(encodeSpdm(m), ALGORITHMS);
  });

  test('a selection that is not one known algorithm is a bad field', () => {
    const m = decodeSpdm(ALGORITHMS) as Algorithms;
    assert.equal(selectedAlgorithms({ ...m, baseHashSel: 3 }).baseHash, 'UNKNOWN(0x3)');
    assert.throws(
      () => algorithmSizes({ ...m, baseHashSel: 3 }),
      (e) => e instanceof WireError && e.field === 'BaseHashSel' && e.offset === 16,
    );
    const dhe = m.algStructs.map((t) => (t.algType === 2 ? { ...t, algSupported: 0x30 } : t));
    assert.throws(
      () => algorithmSizes({ ...m, algStructs: dhe }),
      (e) => e instanceof WireError && e.field === 'DHE' && e.offset === 38,
    );
    assert.equal(algorithmSizes({ ...m, algStructs: [] }).dheSize, 0);
  });

  test('Length must be the message length', () => {
    const bad = NEGOTIATE.slice();
    bad[4] = 0x31;
    assert.throws(
      () => decodeSpdm(bad),
      (e) =>
        e instanceof WireError && e.field === 'Length' && e.offset === 4 && e.kind === 'bad-field',
    );
    // Length longer than the fields: the fields decide where the message ends.
    const longer = Uint8Array.from([...NEGOTIATE, 0, 0, 0, 0]);
    longer[4] = longer.length;
    assert.throws(
      () => decodeSpdm(longer),
      (e) =>
        e instanceof WireError && e.field === 'Length' && e.offset === 4 && e.kind === 'bad-field',
    );
    // Bytes after a consistent Length are not part of the message.
    assert.throws(
      () => decodeSpdm(Uint8Array.from([...NEGOTIATE, 0, 0, 0, 0])),
      (e) => e instanceof WireError && e.kind === 'trailing' && e.offset === 48,
    );
  });

  test('AlgCount must say two fixed bytes', () => {
    const bad = NEGOTIATE.slice();
    bad[33] = 0x30;
    assert.throws(
      () => decodeSpdm(bad),
      (e) => e instanceof WireError && e.field === 'AlgCount' && e.offset === 33,
    );
  });

  test('SPDM 1.0 has no struct tables and a reserved Param1', () => {
    const v10 = fromHex(
      '10 e3 00 00 20 00 01 00 80 00 00 00 02 00 00 00' +
        '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
    );
    const m = decodeSpdm(v10) as NegotiateAlgorithms;
    assert.deepEqual(m.algStructs, []);
    assert.deepEqual(encodeSpdm(m), v10);
    const withParam1 = v10.slice();
    withParam1[2] = 4;
    assert.equal((decodeSpdm(withParam1) as NegotiateAlgorithms).reserved1, 4);
    assert.throws(
      () =>
        decodeSpdm(
          Uint8Array.from([...v10.subarray(0, 4), 0x24, ...v10.subarray(5), 2, 0x20, 1, 0]),
        ),
      (e) => e instanceof WireError && e.field === 'Length' && e.kind === 'bad-field',
    );
    const tables = [{ algType: 2, algSupported: 1, algExternal: [] }];
    assert.throws(() => encodeSpdm({ ...m, algStructs: tables }), RangeError);
  });

  test('extended algorithm entries are kept raw and counted', () => {
    const m = decodeSpdm(ALGORITHMS) as Algorithms;
    const ext = {
      ...m,
      extAsymSel: [fromHex('01 00 02 00')],
      extHashSel: [fromHex('03 00 04 00')],
    };
    const b = encodeSpdm(ext);
    assert.equal(b.length, ALGORITHMS.length + 8);
    assert.equal(b[4], b.length);
    assert.deepEqual([b[32], b[33]], [1, 1]);
    assert.deepEqual(b.subarray(36, 44), fromHex('01 00 02 00 03 00 04 00'));
    assert.deepEqual(decodeSpdm(b), { ...ext, reserved1: undefined, reserved2: undefined });
  });
});
