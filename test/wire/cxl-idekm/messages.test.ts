/**
 * CXL_IDE_KM codecs (CXL 3.x 11.4): every object family against hex written out from the
 * layouts in the spec's message tables (the same as libspdm's cxl_idekm.h structures), the
 * key sub-stream byte's bits, unknown Object IDs round-tripping, and typed errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CXL_IDE_KM_KEY_PROG_SIZE,
  type CxlIdeKmMessage,
  decodeCxlIdeKm,
  decodeCxlKeySubStream,
  encodeCxlIdeKm,
  encodeCxlKeySubStream,
} from '../../../src/wire/cxl-idekm/index.ts';
import { fromHex, toHex } from '../../../src/wire/hex.ts';
import { checkRobust } from '../../support/robust.ts';
import { wireErrorExpecter } from '../expect-wire-error.ts';

const expectWireError = wireErrorExpecter('CXL_IDE_KM');

const KEY = [
  0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c, 0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c,
];
const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
/** The initial IV spdm-emu's requester programs: iv[0] = 0x80000000, iv[1] = 0, iv[2] = 1. */
const IV = [0x80000000, 0, 1];
const IV_HEX = '000000800000000001000000';
const CXL_RX = { direction: 'RX', bit3: 0, subStream: 8 } as const;
const CXL_TX = { direction: 'TX', bit3: 0, subStream: 8 } as const;

const CASES: { name: string; hex: string; m: CxlIdeKmMessage }[] = [
  // ObjectID 00 | Reserved | PortIndex.
  { name: 'QUERY port 0', hex: '000000', m: { objectId: 0x00, portIndex: 0 } },
  {
    // ObjectID 01 | Reserved | PortIndex 0 | Dev/Func 0xef | Bus 0xbe | Segment 0 |
    // MaxPortIndex 0 | Caps 0x71 (version 1, IV gen, key gen, K_SET_STOP) | two registers.
    name: 'QUERY_RESP',
    hex: '010000efbe0000710700400044000000',
    m: {
      objectId: 0x01,
      portIndex: 0,
      devFuncNum: 0xef,
      busNum: 0xbe,
      segment: 0,
      maxPortIndex: 0,
      caps: 0x71,
      ideRegisters: [0x00400007, 0x00000044],
    },
  },
  {
    // ObjectID 02 | Reserved u16 | StreamID 0 | Reserved | KeySubStream 0x80 (CXL, RX,
    // initial IV) | PortIndex 0 | Key 8 DW | Pending Initial IV 3 DW.
    name: 'KEY_PROG RX',
    hex: `02000000008000${KEY_HEX}${IV_HEX}`,
    m: { objectId: 0x02, streamId: 0, keySubStream: CXL_RX, portIndex: 0, key: KEY, iv: IV },
  },
  {
    // KeySubStream 0x8a: CXL, TX, default IV.
    name: 'KEY_PROG TX default IV, stream 1, port 2',
    hex: `02000001008a02${KEY_HEX}${'00'.repeat(12)}`,
    m: {
      objectId: 0x02,
      streamId: 1,
      keySubStream: { direction: 'TX', bit3: 1, subStream: 8 },
      portIndex: 2,
      key: KEY,
      iv: [0, 0, 0],
    },
  },
  {
    // ObjectID 03 | Reserved u16 | StreamID | Status 0x03 (unsupported value) | KSS | Port.
    name: 'KP_ACK',
    hex: '03000000038200',
    m: { objectId: 0x03, streamId: 0, keySubStream: CXL_TX, portIndex: 0, status: 3 },
  },
  {
    // K_SET_GO RX Skid: KSS 0x80.
    name: 'K_SET_GO RX skid',
    hex: '04000000008000',
    m: { objectId: 0x04, streamId: 0, keySubStream: CXL_RX, portIndex: 0 },
  },
  {
    // K_SET_GO TX Containment: KSS 0x8a.
    name: 'K_SET_GO TX containment',
    hex: '04000000008a00',
    m: {
      objectId: 0x04,
      streamId: 0,
      keySubStream: { direction: 'TX', bit3: 1, subStream: 8 },
      portIndex: 0,
    },
  },
  {
    name: 'K_SET_STOP TX',
    hex: '05000000008200',
    m: { objectId: 0x05, streamId: 0, keySubStream: CXL_TX, portIndex: 0 },
  },
  {
    name: 'K_GOSTOP_ACK RX',
    hex: '06000000008000',
    m: { objectId: 0x06, streamId: 0, keySubStream: CXL_RX, portIndex: 0 },
  },
  {
    name: 'GETKEY',
    hex: '07000000008000',
    m: { objectId: 0x07, streamId: 0, keySubStream: CXL_RX, portIndex: 0 },
  },
  {
    name: 'GETKEY_ACK',
    hex: `08000000008000${KEY_HEX}${IV_HEX}`,
    m: { objectId: 0x08, streamId: 0, keySubStream: CXL_RX, portIndex: 0, key: KEY, iv: IV },
  },
  {
    // Reserved bytes keep their values so the object re-encodes as it came.
    name: 'K_SET_GO with reserved bytes set',
    hex: '04123400568500',
    m: {
      objectId: 0x04,
      reserved: 0x3412,
      streamId: 0,
      reserved2: 0x56,
      keySubStream: { direction: 'RX', bit3: 0, subStream: 8, reserved: 0x05 },
      portIndex: 0,
    },
  },
  {
    name: 'unknown Object ID 0x09',
    hex: '09aabb',
    m: { kind: 'unknown', objectId: 0x09, body: fromHex('aabb') },
  },
];

describe('CXL_IDE_KM objects (CXL 3.x 11.4)', () => {
  for (const { name, hex, m } of CASES) {
    test(`${name}: ${hex}`, () => {
      assert.deepEqual(decodeCxlIdeKm(fromHex(hex)), m);
      assert.equal(toHex(encodeCxlIdeKm(m)), hex);
    });
  }

  test('KEY_PROG and GETKEY_ACK are 51 bytes: 7 + 8 key dwords + 3 IV dwords', () => {
    assert.equal(CXL_IDE_KM_KEY_PROG_SIZE, 51);
  });

  test('the key sub-stream byte: every value decodes and re-encodes', () => {
    assert.deepEqual(decodeCxlKeySubStream(0x80), CXL_RX);
    assert.deepEqual(decodeCxlKeySubStream(0x82), CXL_TX);
    for (let b = 0; b < 256; b++) assert.equal(encodeCxlKeySubStream(decodeCxlKeySubStream(b)), b);
  });

  test('malformed objects are typed errors naming the field', () => {
    expectWireError(() => decodeCxlIdeKm(new Uint8Array()), 'truncated', 'ObjectID');
    expectWireError(() => decodeCxlIdeKm(fromHex('0000')), 'truncated', 'PortIndex');
    expectWireError(() => decodeCxlIdeKm(fromHex('00000000')), 'trailing');
    expectWireError(
      () => decodeCxlIdeKm(fromHex('010000efbe00007107')),
      'bad-field',
      'IdeRegisterBlock',
    );
    expectWireError(
      () => decodeCxlIdeKm(fromHex(`02000000008000${KEY_HEX}`)),
      'truncated',
      'PendingInitialIV',
    );
    expectWireError(() => decodeCxlIdeKm(fromHex('0400000000')), 'truncated', 'KeySubStream');
  });

  test('the encoder refuses what would not decode back', () => {
    assert.throws(
      () => encodeCxlIdeKm({ kind: 'unknown', objectId: 0x04 as never, body: new Uint8Array() }),
      RangeError,
    );
    assert.throws(
      () =>
        encodeCxlIdeKm({
          objectId: 0x02,
          streamId: 0,
          keySubStream: CXL_RX,
          portIndex: 0,
          key: [1],
          iv: IV,
        }),
      RangeError,
    );
  });

  test('property: any object of a known layout or unknown id round-trips byte-exactly', () => {
    const sizes: Record<number, number> = { 0: 3, 2: 51, 3: 7, 4: 7, 5: 7, 6: 7, 7: 7, 8: 51 };
    const arb = fc.oneof(
      fc
        .constantFrom(...Object.entries(sizes))
        .chain(([id, n]) =>
          fc
            .uint8Array({ minLength: n - 1, maxLength: n - 1 })
            .map((b) => Uint8Array.of(Number(id), ...b)),
        ),
      fc
        .integer({ min: 9, max: 255 })
        .chain((id) => fc.uint8Array({ maxLength: 20 }).map((b) => Uint8Array.of(id, ...b))),
      fc
        .nat(9)
        .chain((n) =>
          fc
            .uint8Array({ minLength: 7 + 4 * n, maxLength: 7 + 4 * n })
            .map((b) => Uint8Array.of(1, ...b)),
        ),
    );
    fc.assert(
      fc.property(arb, (b) => {
        assert.deepEqual(encodeCxlIdeKm(decodeCxlIdeKm(b)), b);
      }),
    );
    // Hostile inputs derived from valid ones: a WireError or a message, nothing else.
    checkRobust('CXL_IDE_KM', arb, (b) => decodeCxlIdeKm(b));
  });
});
