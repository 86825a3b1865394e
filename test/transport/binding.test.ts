import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeTransportPayload,
  encodeTransportPayload,
  socketTransportType,
} from '../../src/transport/binding.ts';
import { decodeUnpadded, type TransportMessage } from '../../src/transport/types.ts';
import { decodeFrame } from '../../src/wire/socket.ts';
import { CAPTURES, frameBytes, loadCapture } from '../support/captures.ts';
import { checkRobust } from '../support/robust.ts';

/** A toy length-delimited decoder: byte 0 = length of what follows. */
const lengthPrefixed = (b: Uint8Array) => {
  if (b.length === 0 || b[0] !== b.length - 1) throw new Error('bad length');
  return b[0];
};

describe('binding payloads', () => {
  test('socket transport types', () => {
    assert.equal(socketTransportType('pci_doe'), 2);
    assert.equal(socketTransportType('mctp'), 1);
  });

  test('MCTP: 0x05 / 0x06 type byte, exact bytes both ways', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 50 }), (secured, bytes) => {
        const p = encodeTransportPayload('mctp', { secured, bytes });
        assert.deepStrictEqual([...p], [secured ? 6 : 5, ...bytes]);
        assert.deepStrictEqual(decodeTransportPayload('mctp', p), { secured, bytes });
      }),
    );
    assert.throws(() => decodeTransportPayload('mctp', Uint8Array.of(1, 2)), {
      name: 'WireError',
      kind: 'bad-field',
    });
  });

  test('DOE plain SPDM: padded, maxPad bounds the padding, decodeUnpadded recovers the message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (body) => {
        const spdm = Uint8Array.of(body.length, ...body);
        const p = encodeTransportPayload('pci_doe', { secured: false, bytes: spdm });
        assert.deepStrictEqual([...p.subarray(0, 4)], [1, 0, 1, 0]);
        const m = decodeTransportPayload('pci_doe', p);
        assert.equal(m.secured, false);
        assert.equal(m.bytes.length % 4, 0);
        assert.ok((m.maxPad ?? 0) >= m.bytes.length - spdm.length);
        const { value, bytes } = decodeUnpadded(m, lengthPrefixed);
        assert.equal(value, body.length);
        assert.deepStrictEqual(bytes, spdm);
      }),
      { numRuns: 500 },
    );
  });

  test('DOE secured: the record comes back exact, pad stripped', () => {
    const rec = Uint8Array.of(1, 0, 0, 0, 17, 0, 9, ...new Array(16).fill(7)); // 23 bytes
    const p = encodeTransportPayload('pci_doe', { secured: true, bytes: rec });
    assert.equal(p.length, 8 + 24);
    assert.equal(p[2], 2);
    assert.deepStrictEqual(decodeTransportPayload('pci_doe', p), { secured: true, bytes: rec });
  });

  test('DOE objects that carry no SPDM are refused', () => {
    const discovery = Uint8Array.of(1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0);
    assert.throws(() => decodeTransportPayload('pci_doe', discovery), { kind: 'bad-field' });
  });

  test('robust: any payload decodes or throws WireError', () => {
    for (const binding of ['pci_doe', 'mctp'] as const) {
      const arb = fc
        .record({ secured: fc.boolean(), bytes: fc.uint8Array({ maxLength: 60 }) })
        .map((m) =>
          encodeTransportPayload(binding, {
            secured: m.secured,
            // A self-consistent record for the secured case.
            bytes: m.secured
              ? Uint8Array.of(
                  1,
                  2,
                  3,
                  4,
                  ...(binding === 'mctp' ? [0, 0] : []),
                  16,
                  0,
                  ...new Array(16).fill(0),
                )
              : m.bytes,
          }),
        );
      checkRobust(
        `transport payload ${binding}`,
        arb,
        (b) => decodeTransportPayload(binding, b),
        30_000,
      );
    }
  });
});

describe('decodeUnpadded', () => {
  test('prefers the shortest length the decoder accepts, returns exact bytes', () => {
    const m: TransportMessage = { secured: false, bytes: Uint8Array.of(2, 0, 0, 0), maxPad: 3 };
    // [2, 0, 0] is the length-prefixed message; [2] and [2, 0] are not.
    assert.deepStrictEqual(decodeUnpadded(m, lengthPrefixed).bytes, Uint8Array.of(2, 0, 0));
    // A non-zero tail is never padding.
    const n: TransportMessage = { secured: false, bytes: Uint8Array.of(3, 0, 0, 5), maxPad: 3 };
    assert.deepStrictEqual(decodeUnpadded(n, lengthPrefixed).bytes, n.bytes);
    // Nothing fits: the full-length error.
    assert.throws(
      () =>
        decodeUnpadded({ secured: false, bytes: Uint8Array.of(9, 0), maxPad: 1 }, lengthPrefixed),
      /bad length/,
    );
    // No maxPad: exact bytes only.
    assert.throws(() =>
      decodeUnpadded({ secured: false, bytes: Uint8Array.of(0, 0) }, lengthPrefixed),
    );
  });
});

describe('binding payloads of the libspdm captures', () => {
  for (const name of CAPTURES) {
    test(`${name}: every SPDM payload decodes and re-encodes to the same bytes`, () => {
      let n = 0;
      for (const f of loadCapture(name)) {
        const frame = decodeFrame(frameBytes(f));
        if (frame.command !== 1) continue;
        const binding = frame.transportType === 2 ? 'pci_doe' : 'mctp';
        if (binding === 'pci_doe' && frame.payload[2] === 0) continue; // discovery
        const m = decodeTransportPayload(binding, frame.payload);
        assert.deepStrictEqual(
          encodeTransportPayload(binding, m),
          frame.payload,
          `frame #${f.index}`,
        );
        if (!m.secured) {
          // The capture notes the SPDM length; it is within the padding bound.
          const len = Number(/ len=(\d+)/.exec(f.notes.find((x) => x.startsWith('SPDM'))!)![1]);
          assert.ok(m.bytes.length - len <= (m.maxPad ?? 0), `frame #${f.index}`);
        }
        n++;
      }
      assert.ok(n >= 40);
    });
  }
});
