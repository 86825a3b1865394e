import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../../src/wire/hex.ts';
import {
  decodeIdeKm,
  decodeKeySubStream,
  encodeIdeKm,
  encodeKeySubStream,
  IDE_KM_KEY_PROG_SIZE,
  type IdeKmKeyProg,
  type IdeKmMessage,
  ideKmObjectName,
  KP_ACK_STATUS,
  PCI_IDE_KM_OBJECT_ID_KEY_PROG,
  PCI_IDE_KM_OBJECT_ID_KP_ACK,
  PCI_IDE_KM_OBJECT_ID_QUERY,
  PCI_IDE_KM_OBJECT_ID_QUERY_RESP,
} from '../../../src/wire/idekm/index.ts';
import type { CaptureName } from '../../support/captures.ts';
import {
  ideKmBytesArb,
  ideKmKeyProgArb,
  ideKmMessageArb,
  ideKmUnknownArb,
  ideKmUnknownBytesArb,
} from '../../support/idekm-tdisp-arbitraries.ts';
import { checkRobust } from '../../support/robust.ts';
import { wireErrorExpecter } from '../expect-wire-error.ts';
import { pciSigMessages } from '../tdisp/capture-messages.ts';

const CAPTURES: CaptureName[] = ['doe-spdm13-session.txt', 'v12.decoded.txt'];

function ideKmOf(name: CaptureName) {
  return pciSigMessages(name).filter((m) => m.protocolId === 0);
}

/** The KEY_PROG key/IFV dwords of `b` in reverse order, bytes inside each dword unmoved. */
function reverseKeyDwords(b: Uint8Array): Uint8Array {
  const out = b.slice();
  const words = (from: number, n: number) => {
    for (let i = 0; i < n; i++)
      out.set(b.subarray(from + 4 * (n - 1 - i), from + 4 * (n - i)), from + 4 * i);
  };
  words(7, 8);
  words(7 + 32, 2);
  return out;
}

const expectWireError = wireErrorExpecter('IDE_KM');

describe('IDE_KM known answers from the libspdm captures', () => {
  for (const name of CAPTURES) {
    test(`${name}: every IDE_KM message decodes and re-encodes byte-exactly`, () => {
      const msgs = ideKmOf(name);
      // The requester runs its IDE_KM flow twice (a KEY_EXCHANGE session, then a PSK session), 38 each.
      assert.equal(msgs.length, 2 * (1 + 1 + 6 * 2 + 6 + 6 + 6 * 2), 'IDE_KM message count');
      const counts = new Map<number, number>();
      for (const { frame, message, note } of msgs) {
        const m = decodeIdeKm(message);
        const id = Number.parseInt(/\((0x[0-9a-f]+)\)/.exec(note)?.[1] ?? 'NaN', 16);
        assert.equal(m.objectId, id, `#${frame.index} ${note}: object id`);
        assert.equal(toHex(encodeIdeKm(m)), toHex(message), `#${frame.index} ${note}: re-encoding`);
        counts.set(m.objectId, (counts.get(m.objectId) ?? 0) + 1);
      }
      assert.deepEqual([...counts.entries()].sort(), [
        [0, 2],
        [1, 2],
        [2, 12],
        [3, 12],
        [4, 12],
        [5, 12],
        [6, 24],
      ]);
    });

    test(`${name}: decoded values match what the requester log printed`, () => {
      const msgs = ideKmOf(name).map((x) => decodeIdeKm(x.message));
      const query = msgs.find((m) => m.objectId === PCI_IDE_KM_OBJECT_ID_QUERY);
      assert.ok(query);
      const resp = msgs.find((m) => m.objectId === PCI_IDE_KM_OBJECT_ID_QUERY_RESP);
      assert.ok(resp && resp.objectId === PCI_IDE_KM_OBJECT_ID_QUERY_RESP);
      // requester log: "max_port_index - 0x07" and ide_reg_block entries 0000..0049.
      assert.equal(resp.maxPortIndex, 7);
      assert.equal(resp.ideRegisters.length, 0x4a);
      assert.equal(resp.portIndex, query.portIndex, 'QUERY_RESP echoes the port index');
      // requester log: key_prog K0|RX|PR, K0|RX|NPR, K0|RX|CPL, K0|TX|PR, K0|TX|NPR, K0|TX|CPL.
      const progs = msgs.filter(
        (m): m is IdeKmKeyProg => m.objectId === PCI_IDE_KM_OBJECT_ID_KEY_PROG,
      );
      const order = progs.map(
        (k) => `K${k.keySubStream.keySet}|${k.keySubStream.direction}|${k.keySubStream.subStream}`,
      );
      const round = ['K0|RX|0', 'K0|RX|1', 'K0|RX|2', 'K0|TX|0', 'K0|TX|1', 'K0|TX|2'];
      assert.deepEqual(order, [...round, ...round]);
      for (const k of progs) {
        assert.equal(k.streamId, 0);
        assert.deepEqual(k.ifv, [0, 1], 'spdm-emu programs iv[0]=0, iv[1]=1');
        assert.equal(k.key.length, 8);
      }
      const acks = msgs.filter((m) => m.objectId === PCI_IDE_KM_OBJECT_ID_KP_ACK);
      for (const a of acks) assert.ok(a.objectId === 3 && a.status === KP_ACK_STATUS.Success);
    });
  }

  test('KEY_PROG key order: the same logical key gives the spdm-emu and the spdm-rs wire forms', () => {
    const captured = ideKmOf('doe-spdm13-session.txt').find((m) => m.message[0] === 2);
    assert.ok(captured);
    const emuBytes = captured.message;
    assert.equal(emuBytes.length, IDE_KM_KEY_PROG_SIZE);
    const logical = decodeIdeKm(emuBytes, { keyOrder: 'spdm-emu' });
    const rsBytes = reverseKeyDwords(emuBytes);
    // spdm-rs: key[7]..key[0], iv[1], iv[0], each dword little-endian.
    assert.equal(toHex(rsBytes.subarray(39)), '0100000000000000');
    assert.equal(toHex(encodeIdeKm(logical, { keyOrder: 'spdm-rs' })), toHex(rsBytes));
    assert.deepEqual(decodeIdeKm(rsBytes, { keyOrder: 'spdm-rs' }), logical);
    assert.equal(toHex(encodeIdeKm(logical)), toHex(emuBytes), 'default order is spdm-emu');
    // Read with the wrong order, the key comes out dword-reversed.
    const wrong = decodeIdeKm(rsBytes) as IdeKmKeyProg;
    assert.deepEqual(wrong.key, [...(logical as IdeKmKeyProg).key].reverse());
  });

  test('KEY_PROG: for any key, the two orders differ exactly by dword order', () => {
    fc.assert(
      fc.property(ideKmKeyProgArb, (k) => {
        const emu = encodeIdeKm(k, { keyOrder: 'spdm-emu' });
        const rs = encodeIdeKm(k, { keyOrder: 'spdm-rs' });
        assert.equal(toHex(rs), toHex(reverseKeyDwords(emu)));
        assert.deepEqual(decodeIdeKm(rs, { keyOrder: 'spdm-rs' }), k);
      }),
      { numRuns: 300 },
    );
  });
});

describe('IDE_KM round trips', () => {
  for (const keyOrder of ['spdm-emu', 'spdm-rs'] as const) {
    test(`object -> bytes -> object (${keyOrder})`, () => {
      fc.assert(
        fc.property(ideKmMessageArb, (m: IdeKmMessage) => {
          assert.deepEqual(decodeIdeKm(encodeIdeKm(m, { keyOrder }), { keyOrder }), m);
        }),
        { numRuns: 1000 },
      );
    });

    test(`bytes -> object -> bytes (${keyOrder})`, () => {
      fc.assert(
        fc.property(ideKmBytesArb, (b) => {
          assert.equal(toHex(encodeIdeKm(decodeIdeKm(b, { keyOrder }), { keyOrder })), toHex(b));
        }),
        { numRuns: 1000 },
      );
    });
  }

  test('KeySet/Direction/SubStream: all 256 byte values round-trip; capture values decode as named', () => {
    for (let b = 0; b < 256; b++) assert.equal(encodeKeySubStream(decodeKeySubStream(b)), b);
    assert.deepEqual(decodeKeySubStream(0x00), { keySet: 0, direction: 'RX', subStream: 0 });
    assert.deepEqual(decodeKeySubStream(0x12), { keySet: 0, direction: 'TX', subStream: 1 });
    assert.deepEqual(decodeKeySubStream(0x23), { keySet: 1, direction: 'TX', subStream: 2 });
    assert.deepEqual(decodeKeySubStream(0x0c), {
      keySet: 0,
      direction: 'RX',
      subStream: 0,
      reserved: 0x0c,
    });
  });
});

describe('IDE_KM unknown Object IDs', () => {
  test('decode to the unknown case with the bytes kept, and re-encode byte-exactly', () => {
    const bytes = Uint8Array.from([7, 0, 0x5a, 1]);
    const m = decodeIdeKm(bytes);
    assert.deepEqual(m, { kind: 'unknown', objectId: 7, body: Uint8Array.from([0, 0x5a, 1]) });
    assert.equal(toHex(encodeIdeKm(m)), toHex(bytes));
    assert.deepEqual(decodeIdeKm(Uint8Array.from([0xff])), {
      kind: 'unknown',
      objectId: 0xff,
      body: new Uint8Array(),
    });
    assert.equal(ideKmObjectName(7), 'UNKNOWN(0x07)');
  });

  test('the unknown case cannot carry a known Object ID (it would decode differently)', () => {
    const m = decodeIdeKm(Uint8Array.from([7]));
    assert.throws(
      () => encodeIdeKm({ ...m, objectId: PCI_IDE_KM_OBJECT_ID_QUERY } as IdeKmMessage),
      RangeError,
    );
  });

  for (const keyOrder of ['spdm-emu', 'spdm-rs'] as const) {
    test(`bytes -> object -> bytes: any unknown Object ID and any body (${keyOrder})`, () => {
      fc.assert(
        fc.property(ideKmUnknownBytesArb, (b) => {
          const m = decodeIdeKm(b, { keyOrder });
          assert.ok('kind' in m && m.objectId === b[0]);
          assert.equal(toHex(encodeIdeKm(m, { keyOrder })), toHex(b));
        }),
        { numRuns: 1000 },
      );
    });
  }

  test('object -> bytes -> object: the unknown case', () => {
    fc.assert(
      fc.property(ideKmUnknownArb, (m) => {
        assert.deepEqual(decodeIdeKm(encodeIdeKm(m)), m);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('IDE_KM malformed input', () => {
  const keyProg = Uint8Array.from([2, ...new Array(46).fill(0)]);
  test('typed errors name field, offset and kind', () => {
    expectWireError(() => decodeIdeKm(new Uint8Array()), 'truncated', 'ObjectID');
    expectWireError(() => decodeIdeKm(keyProg.subarray(0, 46)), 'truncated', 'IFV');
    const t = expectWireError(() => decodeIdeKm(Uint8Array.from([...keyProg, 0])), 'trailing');
    assert.equal(t.offset, 47);
    expectWireError(
      () => decodeIdeKm(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1, 2, 3])),
      'bad-field',
      'IdeRegisterBlock',
    );
    expectWireError(
      () => decodeIdeKm(Uint8Array.from([3, 0, 0, 0, 0, 0])),
      'truncated',
      'PortIndex',
    );
  });

  test('encoders refuse values that do not fit with RangeError', () => {
    const base = decodeIdeKm(keyProg) as IdeKmKeyProg;
    assert.throws(() => encodeIdeKm({ ...base, key: base.key.slice(1) }), RangeError);
    assert.throws(() => encodeIdeKm({ ...base, ifv: [0, 0, 0] }), RangeError);
    assert.throws(() => encodeIdeKm({ ...base, key: [...base.key.slice(1), 2 ** 32] }), RangeError);
    assert.throws(() => encodeIdeKm({ ...base, streamId: 256 }), RangeError);
    assert.throws(
      () => encodeKeySubStream({ keySet: 0, direction: 'RX', subStream: 16 }),
      RangeError,
    );
    assert.throws(
      () => encodeKeySubStream({ keySet: 0, direction: 'RX', subStream: 0, reserved: 1 }),
      RangeError,
    );
  });

  test('robustness: hostile inputs give a value or a WireError (spdm-emu order)', () => {
    checkRobust('IDE_KM', ideKmBytesArb, (b) => decodeIdeKm(b));
  });

  test('robustness: hostile inputs give a value or a WireError (spdm-rs order)', () => {
    checkRobust(
      'IDE_KM spdm-rs',
      ideKmBytesArb,
      (b) => decodeIdeKm(b, { keyOrder: 'spdm-rs' }),
      20_000,
    );
  });
});
