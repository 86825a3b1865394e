/** VENDOR_DEFINED_REQUEST / _RESPONSE and the PCI-SIG wrapper (src/wire/spdm/vendor-defined.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromHex } from '../../../src/wire/hex.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import {
  PCI_PROTOCOL_ID_IDE_KM,
  PCI_PROTOCOL_ID_TDISP,
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
} from '../../../src/wire/spdm/constants.ts';
import {
  decodePciSigPayload,
  encodePciSigVdm,
  pciSigVdm,
  type VendorDefined,
} from '../../../src/wire/spdm/vendor-defined.ts';
import {
  checkBytesRoundTrip,
  checkFamilyRobust,
  checkMessageRoundTrip,
} from '../../support/spdm-arbitraries-session.ts';

// FE 00 00 | StandardID 0003 | Len 02 | VendorID 01 00 | ReqLength 0004 | ProtocolID 00 | IDE_KM QUERY
const IDE_KM_QUERY = fromHex('13fe0000 0300 02 0100 0400 00 000001');

describe('VENDOR_DEFINED_REQUEST / _RESPONSE', () => {
  test('decodes StandardID, VendorID and payload', () => {
    const m = decodeSpdm(IDE_KM_QUERY);
    assert.deepStrictEqual(m, {
      version: 0x13,
      code: SPDM_VENDOR_DEFINED_REQUEST,
      param1Reserved: undefined,
      param2Reserved: undefined,
      standardId: 3,
      vendorId: fromHex('0100'),
      payload: fromHex('00000001'),
    });
  });

  test('exists in SPDM 1.0 and takes any vendor id length', () => {
    const bytes = fromHex('107e0102 0400 05 0102030405 0000');
    const m = decodeSpdm(bytes) as VendorDefined;
    assert.equal(m.code, SPDM_VENDOR_DEFINED_RESPONSE);
    assert.equal(m.param1Reserved, 1);
    assert.deepStrictEqual(m.vendorId, fromHex('0102030405'));
    assert.equal(m.payload.length, 0);
    assert.deepStrictEqual(encodeSpdm(m), bytes);
    assert.equal(decodePciSigPayload(m), undefined);
  });

  test('a payload length beyond the message is truncated', () => {
    assert.throws(() => decodeSpdm(fromHex('12fe0000 0300 02 0100 0500 00000001')), {
      name: 'WireError',
      field: 'VendorDefinedReqPayload',
      kind: 'truncated',
      offset: 11,
    });
  });
});

describe('PCI-SIG wrapper', () => {
  test('encodePciSigVdm builds the PCI-SIG header around the protocol message', () => {
    const bytes = encodePciSigVdm(
      { protocolId: PCI_PROTOCOL_ID_IDE_KM, message: fromHex('000001') },
      { version: 0x13 },
    );
    assert.deepStrictEqual(bytes, IDE_KM_QUERY);
    const rsp = encodePciSigVdm(
      { protocolId: PCI_PROTOCOL_ID_TDISP, message: fromHex('1001') },
      { version: 0x12, response: true },
    );
    assert.deepStrictEqual(rsp, fromHex('127e0000 0300 02 0100 0300 01 1001'));
    assert.equal(
      pciSigVdm({ protocolId: 1, message: new Uint8Array(0) }, { version: 0x12, response: true })
        .code,
      SPDM_VENDOR_DEFINED_RESPONSE,
    );
    assert.throws(
      () => encodePciSigVdm({ protocolId: 256, message: new Uint8Array(0) }, { version: 0x12 }),
      RangeError,
    );
  });

  test('decodePciSigPayload: protocol id for PCI-SIG, undefined for other vendors', () => {
    const m = decodeSpdm(IDE_KM_QUERY) as VendorDefined;
    assert.deepStrictEqual(decodePciSigPayload(m), {
      protocolId: PCI_PROTOCOL_ID_IDE_KM,
      message: fromHex('000001'),
    });
    // CXL: same StandardID, VendorID 0x1E98.
    const cxl = decodeSpdm(fromHex('13fe0000 0300 02 981e 0500 01108100 00')) as VendorDefined;
    assert.equal(decodePciSigPayload(cxl), undefined);
    const empty = decodeSpdm(fromHex('13fe0000 0300 02 0100 0000')) as VendorDefined;
    assert.throws(() => decodePciSigPayload(empty), {
      name: 'WireError',
      field: 'ProtocolID',
      kind: 'truncated',
    });
  });
});

describe('VENDOR_DEFINED family properties', () => {
  test('message -> bytes -> message', () => checkMessageRoundTrip('vendor-defined'));
  test('decodable bytes -> message -> same bytes', () => checkBytesRoundTrip('vendor-defined'));
  test('robust on hostile input', () => checkFamilyRobust('vendor-defined'));
});
