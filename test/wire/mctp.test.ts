import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeMctpMessage,
  decodeMctpTransportHeader,
  encodeMctpMessage,
  encodeMctpTransportHeader,
  MCTP_MESSAGE_TYPE_PLDM,
  MCTP_MESSAGE_TYPE_SECURED_MCTP,
  MCTP_MESSAGE_TYPE_SPDM,
  MCTP_PCAP_TRANSPORT_HEADER,
  type MctpMessage,
} from '../../src/wire/mctp.ts';
import { decodeFrame } from '../../src/wire/socket.ts';
import { frameBytes, loadCapture } from '../support/captures.ts';
import { checkRobust } from '../support/robust.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const msgArb: fc.Arbitrary<MctpMessage> = fc.record(
  {
    type: fc.oneof(fc.constantFrom(0x05, 0x06, 0x01, 0x00, 0x7e), u8),
    body: fc.uint8Array({ maxLength: 64 }),
  },
  { noNullPrototype: true },
);
const hdrArb = fc.record(
  { headerVersion: u8, destinationId: u8, sourceId: u8, messageTag: u8 },
  { noNullPrototype: true },
);

describe('MCTP message', () => {
  test('round trips both ways', () => {
    fc.assert(
      fc.property(msgArb, (m) => {
        const b = encodeMctpMessage(m);
        assert.deepStrictEqual([...b], [m.type, ...m.body]);
        assert.deepStrictEqual(decodeMctpMessage(b), m);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (b) => {
        assert.deepStrictEqual(encodeMctpMessage(decodeMctpMessage(b)), b);
      }),
    );
  });

  test('PLDM and other types decode to their number and round-trip', () => {
    const pldm = Uint8Array.of(MCTP_MESSAGE_TYPE_PLDM, 0x80, 0x00, 0x02);
    const m = decodeMctpMessage(pldm);
    assert.equal(m.type, 1);
    assert.deepStrictEqual(encodeMctpMessage(m), pldm);
    assert.throws(() => decodeMctpMessage(new Uint8Array()), {
      name: 'WireError',
      kind: 'truncated',
    });
  });

  test('transport header round trips; spdm-emu pcap header is 00 00 00 C0', () => {
    fc.assert(
      fc.property(hdrArb, (h) => {
        assert.deepStrictEqual(decodeMctpTransportHeader(encodeMctpTransportHeader(h)), h);
      }),
    );
    assert.deepStrictEqual(
      [...encodeMctpTransportHeader(MCTP_PCAP_TRANSPORT_HEADER)],
      [0, 0, 0, 0xc0],
    );
    assert.throws(() => decodeMctpTransportHeader(new Uint8Array(5)), { kind: 'trailing' });
  });

  test('robust against hostile input', () => {
    checkRobust('MCTP message', msgArb.map(encodeMctpMessage), decodeMctpMessage);
    checkRobust(
      'MCTP transport header',
      hdrArb.map(encodeMctpTransportHeader),
      decodeMctpTransportHeader,
      20_000,
    );
  });

  test('mctp.decoded.txt: every MCTP payload parses and re-encodes identically', () => {
    let spdm = 0;
    let secured = 0;
    for (const f of loadCapture('mctp.decoded.txt')) {
      const frame = decodeFrame(frameBytes(f));
      if (frame.command !== 1) continue;
      const m = decodeMctpMessage(frame.payload);
      assert.deepStrictEqual(encodeMctpMessage(m), f.payload, `frame #${f.index}`);
      assert.ok(f.notes.some((n) => n.startsWith(`MCTP message type=0x0${m.type}`)));
      if (m.type === MCTP_MESSAGE_TYPE_SPDM) spdm++;
      else if (m.type === MCTP_MESSAGE_TYPE_SECURED_MCTP) secured++;
      else assert.fail(`unexpected type ${m.type}`);
    }
    assert.deepStrictEqual([spdm, secured], [24, 16]);
  });
});
