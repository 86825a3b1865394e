import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type DoeObject,
  decodeDoeDiscoveryRequest,
  decodeDoeDiscoveryResponse,
  decodeDoeObject,
  doeMaxPad,
  doeSpdmPayload,
  encodeDoeDiscoveryRequest,
  encodeDoeDiscoveryResponse,
  encodeDoeObject,
  PCI_DOE_MAX_LENGTH_DW,
  PCI_DOE_MAX_PAYLOAD,
  PCI_DOE_TYPE_DISCOVERY,
  PCI_DOE_TYPE_SECURED_SPDM,
  PCI_DOE_TYPE_SPDM,
  PCI_DOE_VENDOR_ID_PCISIG,
} from '../../src/wire/doe.ts';
import { WireError } from '../../src/wire/errors.ts';
import { decodeFrame } from '../../src/wire/socket.ts';
import { CAPTURES, frameBytes, loadCapture } from '../support/captures.ts';
import { checkRobust } from '../support/robust.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
/** Reserved fields: absent or non-zero (a zero decodes as absent). */
const nz = (max: number) => fc.integer({ min: 1, max });

/** Objects as a decoder returns them: payload already a dword multiple. */
const doeObjectArb: fc.Arbitrary<DoeObject> = fc.record(
  {
    vendorId: u16,
    type: u8,
    payload: fc
      .integer({ min: 0, max: 40 })
      .chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n })),
    reserved: nz(0xff),
    lengthReserved: nz(2 ** 14 - 1),
  },
  { requiredKeys: ['vendorId', 'type', 'payload'], noNullPrototype: true },
);

/** Independent builder: the header written field by field with DataView. */
function doeBytes(vendor: number, type: number, body: number[], lengthDw?: number): Uint8Array {
  const padded = Math.ceil(body.length / 4) * 4;
  const out = new Uint8Array(8 + padded);
  const v = new DataView(out.buffer);
  v.setUint16(0, vendor, true);
  out[2] = type;
  v.setUint32(4, lengthDw ?? 2 + padded / 4, true);
  out.set(body, 8);
  return out;
}

function throwsWire(f: () => unknown, kind: string, field?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof WireError, `expected WireError, got ${e}`);
    assert.equal(e.kind, kind);
    if (field) assert.equal(e.field, field);
    return true;
  });
}

describe('DOE data object', () => {
  test('round trips both ways', () => {
    fc.assert(
      fc.property(doeObjectArb, (m) => {
        const b = encodeDoeObject(m);
        assert.deepStrictEqual(decodeDoeObject(b), m);
        assert.deepStrictEqual(encodeDoeObject(decodeDoeObject(b)), b);
      }),
      { numRuns: 2000 },
    );
  });

  test('encode pads to a dword with zeros and counts dwords including the header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (payload) => {
        const b = encodeDoeObject({ vendorId: 1, type: 1, payload });
        assert.deepStrictEqual(b, doeBytes(1, 1, [...payload]));
        const d = decodeDoeObject(b);
        assert.equal(d.payload.length % 4, 0);
        assert.deepStrictEqual(d.payload.subarray(0, payload.length), payload);
        assert.ok(d.payload.subarray(payload.length).every((x) => x === 0));
      }),
      { numRuns: 500 },
    );
  });

  test('known answer: an SPDM GET_VERSION object', () => {
    const b = encodeDoeObject({
      vendorId: PCI_DOE_VENDOR_ID_PCISIG,
      type: PCI_DOE_TYPE_SPDM,
      payload: Uint8Array.of(0x10, 0x84, 0, 0),
    });
    assert.deepStrictEqual([...b], [1, 0, 1, 0, 3, 0, 0, 0, 0x10, 0x84, 0, 0]);
  });

  test('2^18 dwords encodes Length 0 and decodes back', () => {
    const payload = new Uint8Array(PCI_DOE_MAX_PAYLOAD);
    payload[0] = 0xab;
    payload[payload.length - 1] = 0xcd;
    const b = encodeDoeObject({ vendorId: 1, type: 2, payload });
    assert.equal(b.length, PCI_DOE_MAX_LENGTH_DW * 4);
    assert.deepStrictEqual([...b.subarray(0, 8)], [1, 0, 2, 0, 0, 0, 0, 0]);
    const d = decodeDoeObject(b);
    assert.equal(d.payload.length, PCI_DOE_MAX_PAYLOAD);
    assert.equal(d.payload[payload.length - 1], 0xcd);
    assert.throws(
      () =>
        encodeDoeObject({ vendorId: 1, type: 2, payload: new Uint8Array(PCI_DOE_MAX_PAYLOAD + 1) }),
      RangeError,
    );
  });

  test('rejects a Length that disagrees with the size, or is below the header', () => {
    throwsWire(() => decodeDoeObject(doeBytes(1, 1, [1, 2, 3, 4], 4)), 'bad-field', 'Length');
    throwsWire(() => decodeDoeObject(doeBytes(1, 1, [1, 2, 3, 4], 2)), 'bad-field', 'Length');
    throwsWire(() => decodeDoeObject(doeBytes(1, 1, [], 1)), 'bad-field', 'Length');
    // Length 0 means 2^18 dwords: a small object with Length 0 is wrong, not empty.
    throwsWire(() => decodeDoeObject(doeBytes(1, 1, [], 0)), 'bad-field', 'Length');
    throwsWire(() => decodeDoeObject(Uint8Array.of(1, 0, 1, 0, 2, 0, 0)), 'truncated');
    throwsWire(() => decodeDoeObject(new Uint8Array(9)), 'bad-field');
  });

  test('reserved header bits are kept, not lost', () => {
    const b = doeBytes(1, 1, [9, 9, 9, 9]);
    b[3] = 0x5a;
    b[7] = 0x80; // Length bit 31
    const d = decodeDoeObject(b);
    assert.equal(d.reserved, 0x5a);
    assert.equal(d.lengthReserved, 0x2000);
    assert.deepStrictEqual(encodeDoeObject(d), b);
  });

  test('doeSpdmPayload / doeMaxPad', () => {
    const obj = decodeDoeObject(doeBytes(1, 1, [0x13, 0xfe, 0, 0, 7]));
    assert.deepStrictEqual([...doeSpdmPayload(obj)], [0x13, 0xfe, 0, 0, 7, 0, 0, 0]);
    assert.equal(doeMaxPad(obj.payload), 3);
    assert.equal(doeMaxPad(Uint8Array.of(1, 0, 0, 0, 0)), 3);
    assert.equal(doeMaxPad(Uint8Array.of(1, 2, 0)), 1);
    assert.equal(doeMaxPad(Uint8Array.of(0, 0)), 2);
    assert.equal(doeMaxPad(new Uint8Array()), 0);
    throwsWire(
      () => doeSpdmPayload({ vendorId: 1, type: 2, payload: new Uint8Array(4) }),
      'bad-field',
    );
    throwsWire(
      () => doeSpdmPayload({ vendorId: 2, type: 1, payload: new Uint8Array(4) }),
      'bad-field',
    );
  });

  test('robust against hostile input', () => {
    checkRobust('DOE data object', doeObjectArb.map(encodeDoeObject), decodeDoeObject);
  });
});

describe('DOE discovery', () => {
  const reqArb = fc.record(
    { index: u8, version: u8, reserved: nz(0xffff) },
    { requiredKeys: ['index', 'version'], noNullPrototype: true },
  );
  const rspArb = fc.record(
    { vendorId: u16, dataObjectType: u8, nextIndex: u8 },
    { noNullPrototype: true },
  );

  test('round trips both ways', () => {
    fc.assert(
      fc.property(reqArb, rspArb, (q, s) => {
        assert.deepStrictEqual(decodeDoeDiscoveryRequest(encodeDoeDiscoveryRequest(q)), q);
        assert.deepStrictEqual(decodeDoeDiscoveryResponse(encodeDoeDiscoveryResponse(s)), s);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        assert.deepStrictEqual(encodeDoeDiscoveryRequest(decodeDoeDiscoveryRequest(b)), b);
        assert.deepStrictEqual(encodeDoeDiscoveryResponse(decodeDoeDiscoveryResponse(b)), b);
      }),
    );
  });

  test('known answer: response DW2 = vendor | type << 16 | next << 24', () => {
    const b = encodeDoeDiscoveryResponse({ vendorId: 1, dataObjectType: 2, nextIndex: 0 });
    assert.deepStrictEqual([...b], [1, 0, 2, 0]);
    const q = encodeDoeDiscoveryRequest({ index: 2, version: 1 });
    assert.deepStrictEqual([...q], [2, 1, 0, 0]);
  });

  test('robust against hostile input', () => {
    checkRobust(
      'DOE discovery request',
      reqArb.map(encodeDoeDiscoveryRequest),
      decodeDoeDiscoveryRequest,
      20_000,
    );
    checkRobust(
      'DOE discovery response',
      rspArb.map(encodeDoeDiscoveryResponse),
      decodeDoeDiscoveryResponse,
      20_000,
    );
  });
});

describe('DOE known answers from the libspdm captures', () => {
  for (const name of CAPTURES.filter((c) => c !== 'mctp.decoded.txt')) {
    test(`${name}: every DOE object parses and re-encodes identically`, () => {
      let discovery = 0;
      let spdm = 0;
      let secured = 0;
      for (const f of loadCapture(name)) {
        const frame = decodeFrame(frameBytes(f));
        if (frame.command !== 1) continue;
        const obj = decodeDoeObject(frame.payload);
        assert.deepStrictEqual(encodeDoeObject(obj), f.payload, `frame #${f.index}`);
        assert.equal(obj.vendorId, PCI_DOE_VENDOR_ID_PCISIG);
        assert.equal(obj.reserved, undefined);
        if (obj.type === PCI_DOE_TYPE_DISCOVERY) {
          discovery++;
          const note = f.notes.find((n) => n.startsWith('DOE DISCOVERY'))!;
          if (f.dir === 'REQ->RSP') {
            const q = decodeDoeDiscoveryRequest(obj.payload);
            assert.ok(note.includes(`index=${q.index} version=${q.version}`), note);
          } else {
            const s = decodeDoeDiscoveryResponse(obj.payload);
            const expect = `vendor_id=0x0001 data_object_type=${s.dataObjectType} next_index=${s.nextIndex}`;
            assert.ok(note.includes(expect), note);
          }
        } else if (obj.type === PCI_DOE_TYPE_SPDM) {
          spdm++;
          // The capture notes the SPDM length: the object carries it plus 0-3 zero pad bytes.
          const len = Number(/ len=(\d+)/.exec(f.notes.find((n) => n.startsWith('SPDM'))!)![1]);
          const body = doeSpdmPayload(obj);
          assert.ok(body.length - len >= 0 && body.length - len <= 3, `frame #${f.index}`);
          assert.ok(doeMaxPad(body) >= body.length - len);
        } else {
          assert.equal(obj.type, PCI_DOE_TYPE_SECURED_SPDM);
          secured++;
        }
      }
      assert.deepStrictEqual([discovery, spdm > 0, secured > 0], [6, true, true]);
    });
  }
});
