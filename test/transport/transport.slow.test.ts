/**
 * Long runs (npm run test:slow): a million hostile inputs per transport codec family, and a
 * socket soak of thousands of exchanges with random sizes over both bindings.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeTransportPayload, encodeTransportPayload } from '../../src/transport/binding.ts';
import { connectSpdmEmu } from '../../src/transport/spdm-emu-client.ts';
import { serveSpdmEmu } from '../../src/transport/spdm-emu-server.ts';
import { decodeDoeObject, encodeDoeObject } from '../../src/wire/doe.ts';
import { decodeMctpMessage, encodeMctpMessage } from '../../src/wire/mctp.ts';
import { decodePcap, encodePcap } from '../../src/wire/pcap.ts';
import {
  decodeSecuredRecord,
  encodeSecuredRecord,
  makeSecuredRecord,
} from '../../src/wire/secured.ts';
import { decodeFrame, encodeFrame, SocketFrameParser } from '../../src/wire/socket.ts';
import { checkRobust } from '../support/robust.ts';

const RUNS = Number(process.env.TEEIO_FUZZ_RUNS ?? 1_000_000);
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

describe('transport codecs, long fuzz', () => {
  test('DOE object', () => {
    const arb = fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 255 }), bytes(64))
      .map(([vendorId, type, payload]) => encodeDoeObject({ vendorId, type, payload }));
    checkRobust('DOE object (slow)', arb, decodeDoeObject, RUNS);
  });
  test('socket frame and stream', () => {
    const arb = fc
      .tuple(u32, u32, bytes(64))
      .map(([command, transportType, payload]) => encodeFrame({ command, transportType, payload }));
    checkRobust('socket frame (slow)', arb, (b) => decodeFrame(b), RUNS);
    checkRobust(
      'socket stream (slow)',
      arb,
      (b) => new SocketFrameParser({ maxPayload: 128 }).push(b),
      RUNS,
    );
  });
  test('MCTP message', () => {
    const arb = fc
      .tuple(fc.integer({ min: 0, max: 255 }), bytes(64))
      .map(([type, body]) => encodeMctpMessage({ type, body }));
    checkRobust('MCTP (slow)', arb, decodeMctpMessage, RUNS);
  });
  test('secured records and binding payloads', () => {
    for (const binding of ['pci_doe', 'mctp'] as const) {
      const arb = fc
        .tuple(u32, fc.integer({ min: 0, max: 0xffff }), bytes(64))
        .map(([sid, seq, ct]) =>
          encodeSecuredRecord(
            binding,
            makeSecuredRecord(sid, ct, new Uint8Array(16), binding === 'mctp' ? seq : undefined),
          ),
        );
      checkRobust(`secured ${binding} (slow)`, arb, (b) => decodeSecuredRecord(binding, b), RUNS);
      const payloads = arb.map((rec) =>
        encodeTransportPayload(binding, { secured: true, bytes: rec }),
      );
      checkRobust(
        `payload ${binding} (slow)`,
        payloads,
        (b) => decodeTransportPayload(binding, b),
        RUNS,
      );
    }
  });
  test('pcap', () => {
    const arb = fc.array(fc.tuple(u32, u32, bytes(32)), { maxLength: 4 }).map((rs) =>
      encodePcap({
        header: { linkType: 292, snapLen: 0x10000 },
        records: rs.map(([tsSec, tsFrac, data]) => ({ tsSec, tsFrac, data })),
      }),
    );
    checkRobust('pcap (slow)', arb, decodePcap, RUNS);
  });
});

describe('spdm-emu socket soak', () => {
  for (const binding of ['pci_doe', 'mctp'] as const) {
    test(`${binding}: 3,000 exchanges of random sizes arrive intact`, async () => {
      const server = await serveSpdmEmu({
        transportType: binding,
        onConnection: () => async (m) => ({ secured: false, bytes: m.bytes }), // echo
      });
      const t = await connectSpdmEmu({ port: server.port, transportType: binding });
      try {
        const sizes = fc.sample(fc.integer({ min: 1, max: 4000 }), { numRuns: 3000, seed: 7 });
        for (const [i, n] of sizes.entries()) {
          const msg = new Uint8Array(n).map((_, j) => (i * 31 + j * 7) & 0xff);
          msg[n - 1] = 1; // non-zero last byte: the DOE padding is then unambiguous
          const r = await t.exchange({ secured: false, bytes: msg });
          // With a non-zero last byte the trailing zeros are exactly the DOE padding.
          assert.deepStrictEqual(r.bytes.subarray(0, r.bytes.length - (r.maxPad ?? 0)), msg);
        }
      } finally {
        await t.close();
        await server.close();
      }
    });
  }
});
