import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeTransportPayload,
  encodeTransportPayload,
  socketTransportType,
} from '../../src/transport/binding.ts';
import { decodeFrame } from '../../src/wire/socket.ts';
import { CAPTURES, frameBytes, loadCapture } from '../support/captures.ts';
import { checkRobust } from '../support/robust.ts';

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

  test('DOE plain SPDM: padded with zeros to a dword, maxPad bounds the padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (spdm) => {
        const p = encodeTransportPayload('pci_doe', { secured: false, bytes: spdm });
        assert.deepStrictEqual([...p.subarray(0, 4)], [1, 0, 1, 0]);
        const m = decodeTransportPayload('pci_doe', p);
        assert.equal(m.secured, false);
        assert.equal(m.bytes.length % 4, 0);
        assert.ok((m.maxPad ?? 0) >= m.bytes.length - spdm.length);
        assert.equal(m.bytes.length, Math.ceil(spdm.length / 4) * 4);
        assert.deepStrictEqual(m.bytes.subarray(0, spdm.length), spdm);
        assert.ok(m.bytes.subarray(spdm.length).every((b) => b === 0));
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
