import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../../src/wire/hex.ts';
import {
  decodeFunctionId,
  decodeTdisp,
  decodeTdispHeader,
  encodeFunctionId,
  encodeTdisp,
  LOCK_INTERFACE_FLAGS,
  PCI_TDISP_ERROR,
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR,
  PCI_TDISP_GET_VERSION,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_LOCK_INTERFACE_RSP,
  PCI_TDISP_START_INTERFACE_REQ,
  reqMsgsSupportedBitmap,
  reqMsgsSupportedCodes,
  TDI_STATE_NAMES,
  type TdispError,
  type TdispMessage,
  tdispMessageName,
} from '../../../src/wire/tdisp/index.ts';
import type { CaptureName } from '../../support/captures.ts';
import {
  tdispArbs,
  tdispBytesArb,
  tdispMessageArb,
  tdispUnknownArb,
  tdispUnknownBytesArb,
} from '../../support/idekm-tdisp-arbitraries.ts';
import { checkRobust } from '../../support/robust.ts';
import { wireErrorExpecter } from '../expect-wire-error.ts';
import { pciSigMessages } from './capture-messages.ts';

const CAPTURES: CaptureName[] = ['doe-spdm13-session.txt', 'v12.decoded.txt'];

/** Independent 16-byte header for hand-built messages. */
function header(code: number, functionId = 0xbeef, version = 0x10): number[] {
  return [
    version,
    code,
    0,
    0,
    functionId & 0xff,
    (functionId >>> 8) & 0xff,
    (functionId >>> 16) & 0xff,
    functionId >>> 24,
    ...new Array(8).fill(0),
  ];
}

const expectWireError = wireErrorExpecter();

/**
 * Checks one "KEY=VALUE" of the capture's description line against the decoded message.
 * Returns false for keys it does not know, so the caller can insist every key was checked.
 */
function checkNoteValue(m: TdispMessage, key: string, value: string, where: string): boolean {
  const num = (v: unknown) => assert.equal(v, Number(value), `${where}: ${key}`);
  const big = (v: unknown) => assert.equal(v, BigInt(value), `${where}: ${key}`);
  const rec = m as unknown as Record<string, unknown>;
  switch (key) {
    case 'InterfaceID.function_id':
      num(encodeFunctionId(m.interfaceId));
      return true;
    case 'TSM_CAPS':
    case 'DSM_CAPS':
    case 'DEV_ADDR_WIDTH':
    case 'NUM_REQ_THIS':
    case 'NUM_REQ_ALL':
    case 'FLAGS':
    case 'DEFAULT_STREAM_ID':
    case 'OFFSET':
    case 'LENGTH':
    case 'REMAINDER_LENGTH': {
      const field = {
        TSM_CAPS: 'tsmCaps',
        DSM_CAPS: 'dsmCaps',
        DEV_ADDR_WIDTH: 'devAddrWidth',
        NUM_REQ_THIS: 'numReqThis',
        NUM_REQ_ALL: 'numReqAll',
        FLAGS: 'flags',
        DEFAULT_STREAM_ID: 'defaultStreamId',
        OFFSET: 'offset',
        LENGTH: 'length',
        REMAINDER_LENGTH: 'remainderLength',
      }[key];
      num(rec[field]);
      return true;
    }
    case 'LOCK_INTERFACE_FLAGS_SUPPORTED':
      num(rec.lockInterfaceFlagsSupported);
      return true;
    case 'PORTION_LENGTH':
      num((rec.portion as Uint8Array).length);
      return true;
    case 'MMIO_REPORTING_OFFSET':
      big(rec.mmioReportingOffset);
      return true;
    case 'BIND_P2P_ADDRESS_MASK':
      big(rec.bindP2PAddressMask);
      return true;
    case 'REQ_MSGS_SUPPORTED':
      assert.equal(toHex(rec.reqMsgsSupported as Uint8Array), value, `${where}: ${key}`);
      return true;
    case 'START_INTERFACE_NONCE':
      assert.equal(toHex(rec.startInterfaceNonce as Uint8Array), value, `${where}: ${key}`);
      return true;
    case 'TDI_STATE': {
      const [, n, name] = /^(\d+)\((\w+)\)$/.exec(value) ?? [];
      assert.equal(rec.tdiState, Number(n), `${where}: ${key}`);
      assert.equal(TDI_STATE_NAMES[rec.tdiState as number], name, `${where}: ${key} name`);
      return true;
    }
    case 'VersionCount':
      num((rec.versions as number[]).length);
      return true;
    case 'Versions':
      assert.deepEqual(
        (rec.versions as number[]).map((v) => `${v >>> 4}.${v & 0xf}`).join(','),
        value,
        `${where}: ${key}`,
      );
      return true;
    default:
      return false;
  }
}

describe('TDISP known answers from the libspdm captures', () => {
  for (const name of CAPTURES) {
    test(`${name}: every TDISP message decodes, matches the capture notes, re-encodes byte-exactly`, () => {
      const msgs = pciSigMessages(name).filter((x) => x.protocolId === 1);
      // 22 TDISP messages in each of the two sessions (KEY_EXCHANGE, then PSK).
      assert.equal(msgs.length, 44, 'TDISP message count');
      let lockNonce: string | undefined;
      for (const { frame, message, note } of msgs) {
        const where = `#${frame.index} ${note.slice(0, 60)}`;
        const m = decodeTdisp(message);
        assert.equal(toHex(encodeTdisp(m)), toHex(message), `${where}: re-encoding`);
        const [, ver, typeName, code] =
          /^TDISP v(\d+\.\d+) (\w+)\(0x([0-9a-f]+)\)/.exec(note) ?? [];
        assert.equal(`${m.version >>> 4}.${m.version & 0xf}`, ver, `${where}: version`);
        assert.equal(m.code, Number.parseInt(code, 16), `${where}: MessageType`);
        assert.equal(tdispMessageName(m.code), typeName, `${where}: name`);
        assert.deepEqual(m.interfaceId, { requesterId: 0xbeef, segment: 0, segmentValid: false });
        for (const [, key, value] of note.matchAll(/([A-Za-z0-9_.]+)=(\S+)/g)) {
          assert.ok(checkNoteValue(m, key, value, where), `${where}: unchecked note key ${key}`);
        }
        // The START nonce is the one LOCK handed out (the TSM must echo it).
        if (m.code === PCI_TDISP_LOCK_INTERFACE_RSP) lockNonce = toHex(m.startInterfaceNonce);
        if (m.code === PCI_TDISP_START_INTERFACE_REQ) {
          assert.equal(
            toHex(m.startInterfaceNonce),
            lockNonce,
            `${where}: START echoes LOCK's nonce`,
          );
        }
        if (m.code === PCI_TDISP_LOCK_INTERFACE_REQ) {
          const { NO_FW_UPDATE, SYSTEM_CACHE_LINE_SIZE, LOCK_MSIX } = LOCK_INTERFACE_FLAGS;
          assert.equal(m.flags, NO_FW_UPDATE | SYSTEM_CACHE_LINE_SIZE | LOCK_MSIX);
          assert.equal(m.mmioReportingOffset, 0xd000_0000n);
        }
      }
    });
  }

  test('REQ_MSGS_SUPPORTED of the capture lists GET_TDISP_VERSION..STOP_INTERFACE_REQUEST', () => {
    const bitmap = Uint8Array.from([0xfe, ...new Array(15).fill(0)]);
    assert.deepEqual(reqMsgsSupportedCodes(bitmap), [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87]);
    assert.equal(
      toHex(reqMsgsSupportedBitmap([0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87])),
      toHex(bitmap),
    );
  });
});

describe('TDISP round trips', () => {
  test('object -> bytes -> object, every message type', () => {
    fc.assert(
      fc.property(tdispMessageArb, (m) => {
        assert.deepEqual(decodeTdisp(encodeTdisp(m)), m);
      }),
      { numRuns: 3000 },
    );
  });

  for (const [code, arb] of Object.entries(tdispArbs)) {
    test(`object -> bytes -> object: ${tdispMessageName(Number(code))}`, () => {
      fc.assert(
        fc.property(arb, (m) => {
          assert.deepEqual(decodeTdisp(encodeTdisp(m)), m);
        }),
        { numRuns: 100 },
      );
    });
  }

  test('bytes -> object -> bytes, every message type', () => {
    fc.assert(
      fc.property(tdispBytesArb, (b) => {
        assert.equal(toHex(encodeTdisp(decodeTdisp(b))), toHex(b));
      }),
      { numRuns: 3000 },
    );
  });

  test('bytes -> object -> bytes, any 16-byte header with an unknown MessageType and any body', () => {
    fc.assert(
      fc.property(tdispUnknownBytesArb, (b) => {
        const m = decodeTdisp(b);
        assert.ok('kind' in m && m.kind === 'unknown' && m.code === b[1]);
        assert.equal(toHex(encodeTdisp(m)), toHex(b));
      }),
      { numRuns: 2000 },
    );
  });

  test('object -> bytes -> object, the unknown case', () => {
    fc.assert(
      fc.property(tdispUnknownArb, (m) => {
        assert.deepEqual(decodeTdisp(encodeTdisp(m)), m);
      }),
      { numRuns: 1000 },
    );
  });

  test('FunctionID: fields and reserved bits', () => {
    assert.deepEqual(decodeFunctionId(0x0000beef), {
      requesterId: 0xbeef,
      segment: 0,
      segmentValid: false,
    });
    assert.deepEqual(decodeFunctionId(0x8123_0010), {
      requesterId: 0x0010,
      segment: 0x23,
      segmentValid: true,
      functionIdReserved: 0x8000_0000,
    });
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), (v) => {
        assert.equal(encodeFunctionId(decodeFunctionId(v)), v);
      }),
    );
  });
});

describe('TDISP layouts built by hand', () => {
  test('TDISP_ERROR: plain, with raw extended data, and VendorSpecificError', () => {
    const plain = Uint8Array.from([...header(0x7f), 1, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(decodeTdisp(plain), {
      version: 0x10,
      code: PCI_TDISP_ERROR,
      interfaceId: { requesterId: 0xbeef, segment: 0, segmentValid: false },
      errorCode: PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
      errorData: 0,
    });
    const raw = Uint8Array.from([...header(0x7f), 7, 0, 0, 0, 0x83, 0, 0, 0, 0xaa, 0xbb]);
    const r = decodeTdisp(raw) as TdispError;
    assert.equal(r.errorData, PCI_TDISP_LOCK_INTERFACE_REQ);
    assert.equal(toHex(r.extendedErrorData ?? new Uint8Array()), 'aabb');
    const vendor = Uint8Array.from([
      ...header(0x7f),
      ...[0xff, 0, 0, 0],
      ...[5, 0, 0, 0],
      ...[0x01, 2, 0x98, 0x1e],
      ...[0xde, 0xad],
    ]);
    const v = decodeTdisp(vendor) as TdispError;
    assert.equal(v.errorCode, PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR);
    assert.deepEqual(v.vendorError, {
      registryId: 1,
      vendorId: Uint8Array.from([0x98, 0x1e]),
      data: Uint8Array.from([0xde, 0xad]),
    });
    assert.equal(toHex(encodeTdisp(v)), toHex(vendor));
    expectWireError(
      () => decodeTdisp(Uint8Array.from([...header(0x7f), 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 4, 9])),
      'truncated',
      'ExtendedErrorData.VENDOR_ID',
    );
  });

  test('VDM_REQUEST: REGISTRY_ID, VENDOR_ID_LEN, VENDOR_ID, vendor data', () => {
    const b = Uint8Array.from([...header(0x8b), 0, 2, 0x86, 0x80, 1, 2, 3]);
    const m = decodeTdisp(b);
    assert.ok(m.code === 0x8b);
    assert.equal(m.registryId, 0);
    assert.equal(toHex(m.vendorId), '8680');
    assert.equal(toHex(m.payload), '010203');
    assert.equal(toHex(encodeTdisp(m)), toHex(b));
  });

  test('SET_MMIO_ATTRIBUTE_REQUEST carries one 16-byte MMIO range', () => {
    const range = [0, 0x80, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0x08, 0x00, 2, 0];
    const m = decodeTdisp(Uint8Array.from([...header(0x8a), ...range]));
    assert.ok(m.code === 0x8a);
    assert.deepEqual(m.mmioRange, {
      firstPage: 0x1_0000_8000n,
      numberOfPages: 4,
      attributes: { msixTable: false, msixPba: false, nonTee: false, updatable: true },
      rangeId: 2,
    });
    expectWireError(
      () => decodeTdisp(Uint8Array.from([...header(0x8a), ...range.slice(1)])),
      'truncated',
    );
  });

  test('BIND_P2P_STREAM_REQUEST: 1.0 layout (no stream_config) and 1.1 layout (stream_config kept, 0 too)', () => {
    const v10 = Uint8Array.from([...header(0x88), 5]);
    const v11 = Uint8Array.from([...header(0x88), 5, 0]);
    assert.equal((decodeTdisp(v10) as { streamConfig?: number }).streamConfig, undefined);
    assert.equal((decodeTdisp(v11) as { streamConfig?: number }).streamConfig, 0);
    assert.equal(toHex(encodeTdisp(decodeTdisp(v11))), toHex(v11));
    expectWireError(() => decodeTdisp(Uint8Array.from([...header(0x88), 5, 0, 0])), 'trailing');
  });

  test('malformed input: typed errors', () => {
    expectWireError(() => decodeTdisp(Uint8Array.from(header(0x81).slice(0, 15))), 'truncated');
    const t = expectWireError(() => decodeTdisp(Uint8Array.from([...header(0x81), 0])), 'trailing');
    assert.equal(t.offset, 16);
    // PortionLength larger / smaller than the bytes that follow.
    expectWireError(
      () => decodeTdisp(Uint8Array.from([...header(0x04), 3, 0, 0, 0, 1, 2])),
      'truncated',
      'PORTION_LENGTH',
    );
    expectWireError(
      () => decodeTdisp(Uint8Array.from([...header(0x04), 1, 0, 0, 0, 1, 2])),
      'bad-field',
      'PORTION_LENGTH',
    );
    expectWireError(() => decodeTdisp(Uint8Array.from([...header(0x01), 3, 0x10])), 'truncated');
    // The header alone decodes whatever the type, so a responder can answer any request.
    assert.equal(decodeTdispHeader(Uint8Array.from([...header(0x99), 1, 2])).code, 0x99);
  });

  test('unknown MessageType: header fields decoded, body kept raw, re-encoded byte-exactly', () => {
    const bytes = Uint8Array.from([...header(0x99, 0x8123_0010, 0x11), 1, 2, 3]);
    bytes[2] = 0x5a; // reserved u16 kept
    bytes[15] = 0x80; // InterfaceID reserved u64 kept
    const m = decodeTdisp(bytes);
    assert.deepEqual(m, {
      version: 0x11,
      code: 0x99,
      reserved: 0x5a,
      interfaceId: {
        requesterId: 0x0010,
        segment: 0x23,
        segmentValid: true,
        functionIdReserved: 0x8000_0000,
        reserved: 0x8000_0000_0000_0000n,
      },
      kind: 'unknown',
      body: Uint8Array.from([1, 2, 3]),
    });
    assert.equal(toHex(encodeTdisp(m)), toHex(bytes));
    const empty = decodeTdisp(Uint8Array.from(header(0x00)));
    assert.ok('kind' in empty && empty.body.length === 0);
    assert.equal(tdispMessageName(0x99), 'UNKNOWN(0x99)');
  });

  test('the unknown case cannot carry a known MessageType (it would decode differently)', () => {
    const m = decodeTdisp(Uint8Array.from(header(0x99)));
    assert.throws(
      () => encodeTdisp({ ...m, code: PCI_TDISP_GET_VERSION } as TdispMessage),
      RangeError,
    );
  });

  test('encoders refuse what does not fit with RangeError', () => {
    const base = decodeTdisp(Uint8Array.from(header(PCI_TDISP_GET_VERSION)));
    assert.throws(() => encodeTdisp({ ...base, version: 256 }), RangeError);
    assert.throws(
      () => encodeTdisp({ ...base, interfaceId: { ...base.interfaceId, segment: 256 } }),
      RangeError,
    );
    assert.throws(
      () => encodeTdisp({ ...base, interfaceId: { ...base.interfaceId, functionIdReserved: 1 } }),
      RangeError,
    );
    const lock = decodeTdisp(Uint8Array.from([...header(0x03), ...new Array(32).fill(7)]));
    assert.ok(lock.code === 0x03);
    assert.throws(
      () => encodeTdisp({ ...lock, startInterfaceNonce: new Uint8Array(31) }),
      RangeError,
    );
    const err: TdispError = {
      ...base,
      code: PCI_TDISP_ERROR,
      errorCode: PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR,
      errorData: 0,
      extendedErrorData: Uint8Array.from([1]),
    };
    assert.throws(() => encodeTdisp(err), RangeError);
    assert.throws(
      () =>
        encodeTdisp({
          ...err,
          errorCode: 1,
          extendedErrorData: undefined,
          vendorError: { registryId: 0, vendorId: new Uint8Array(), data: new Uint8Array() },
        }),
      RangeError,
    );
  });
});

describe('TDISP robustness', () => {
  test('hostile inputs give a value or a WireError', () => {
    checkRobust('TDISP', tdispBytesArb, decodeTdisp);
  });
});
