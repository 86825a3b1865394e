import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeDoeObject } from '../../src/wire/doe.ts';
import { decodeMctpMessage, decodeMctpTransportHeader } from '../../src/wire/mctp.ts';
import {
  decodePcap,
  encodePcap,
  LINKTYPE_MCTP,
  LINKTYPE_PCI_DOE,
  PCAP_DEFAULT_SNAPLEN,
  type PcapFile,
  PcapWriter,
  pcapPacket,
} from '../../src/wire/pcap.ts';
import { decodeFrame } from '../../src/wire/socket.ts';
import { frameBytes, loadCapture } from '../support/captures.ts';
import { checkRobust } from '../support/robust.ts';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const nz = fc.integer({ min: 1, max: 0xffff_ffff });

const fileArb: fc.Arbitrary<PcapFile> = fc
  .record(
    {
      linkType: fc.oneof(fc.constantFrom(LINKTYPE_MCTP, LINKTYPE_PCI_DOE), u32),
      snapLen: fc.integer({ min: 0, max: 0x10000 }),
      nanosecond: fc.constant(true),
      bigEndian: fc.constant(true),
      versionMajor: fc.integer({ min: 0, max: 0xffff }).filter((v) => v !== 2),
      versionMinor: fc.integer({ min: 0, max: 0xffff }).filter((v) => v !== 4),
      thisZone: nz,
      sigFigs: nz,
    },
    { requiredKeys: ['linkType', 'snapLen'], noNullPrototype: true },
  )
  .chain((header) =>
    fc
      .array(
        fc
          .tuple(u32, u32, fc.uint8Array({ maxLength: Math.min(header.snapLen, 48) }), fc.nat(100))
          .map(([tsSec, tsFrac, data, extra]) =>
            extra > 70
              ? { tsSec, tsFrac, data, origLen: data.length + extra }
              : { tsSec, tsFrac, data },
          ),
        { maxLength: 5 },
      )
      .map((records) => ({ header, records })),
  );

describe('pcap', () => {
  test('round trips both ways', () => {
    fc.assert(
      fc.property(fileArb, (f) => {
        const b = encodePcap(f);
        assert.deepStrictEqual(decodePcap(b), f);
        assert.deepStrictEqual(encodePcap(decodePcap(b)), b);
      }),
      { numRuns: 1000 },
    );
  });

  test('writer output matches an independently built file; MCTP packets carry spdm-emu header', () => {
    const chunks: Uint8Array[] = [];
    const w = new PcapWriter(LINKTYPE_MCTP, (c) => chunks.push(c));
    w.writePayload(Uint8Array.of(0x05, 0x10, 0x84, 0x00, 0x00), 1_700_000_000_123_456);
    const got = Buffer.concat(chunks);
    const want = Buffer.alloc(24 + 16 + 9);
    want.writeUInt32LE(0xa1b2c3d4, 0);
    want.writeUInt16LE(2, 4);
    want.writeUInt16LE(4, 6);
    want.writeUInt32LE(0x10000, 16);
    want.writeUInt32LE(291, 20);
    want.writeUInt32LE(1_700_000_000, 24);
    want.writeUInt32LE(123_456, 28);
    want.writeUInt32LE(9, 32);
    want.writeUInt32LE(9, 36);
    Buffer.from([0, 0, 0, 0xc0, 0x05, 0x10, 0x84, 0, 0]).copy(want, 40);
    assert.deepStrictEqual(got, want);
    const f = decodePcap(got);
    assert.equal(f.header.linkType, LINKTYPE_MCTP);
    const pkt = f.records[0].data;
    assert.deepStrictEqual(decodeMctpTransportHeader(pkt.subarray(0, 4)).messageTag, 0xc0);
    assert.equal(decodeMctpMessage(pkt.subarray(4)).type, 5);
  });

  test('records longer than the snap length are cut, orig_len keeps the size', () => {
    const f = decodePcap(
      encodePcap({
        header: { linkType: 292, snapLen: 4 },
        records: [{ tsSec: 1, tsFrac: 2, data: Uint8Array.of(1, 2, 3, 4, 5, 6) }],
      }),
    );
    assert.deepStrictEqual(f.records[0], {
      tsSec: 1,
      tsFrac: 2,
      data: Uint8Array.of(1, 2, 3, 4),
      origLen: 6,
    });
  });

  test('rejects bad magic, oversized and cut records', () => {
    assert.throws(() => decodePcap(new Uint8Array(24)), { name: 'WireError', field: 'magic' });
    const b = encodePcap({
      header: { linkType: 292, snapLen: 8 },
      records: [{ tsSec: 0, tsFrac: 0, data: new Uint8Array(8) }],
    });
    assert.throws(() => decodePcap(b.subarray(0, b.length - 1)), { kind: 'truncated' });
    const big = b.slice();
    new DataView(big.buffer).setUint32(24 + 8, 9, true);
    assert.throws(() => decodePcap(big), { kind: 'bad-field', field: 'incl_len' });
  });

  test('every frame of a capture written as pcap reads back as DOE objects / MCTP messages', () => {
    for (const [name, link] of [
      ['doe-spdm13-session.txt', LINKTYPE_PCI_DOE],
      ['mctp.decoded.txt', LINKTYPE_MCTP],
    ] as const) {
      const chunks: Uint8Array[] = [];
      const w = new PcapWriter(link, (c) => chunks.push(c));
      const payloads = loadCapture(name)
        .map((f) => decodeFrame(frameBytes(f)))
        .filter((f) => f.command === 1)
        .map((f) => f.payload);
      for (const [i, p] of payloads.entries()) w.writePayload(p, i * 1000);
      // A plain Uint8Array: Reader.bytes on a Buffer would return views, not copies.
      const file = decodePcap(new Uint8Array(Buffer.concat(chunks)));
      assert.equal(file.header.snapLen, PCAP_DEFAULT_SNAPLEN);
      assert.equal(file.records.length, payloads.length);
      file.records.forEach((r, i) => {
        assert.equal(r.tsFrac, (i * 1000) % 1e6);
        if (link === LINKTYPE_PCI_DOE) assert.equal(decodeDoeObject(r.data).vendorId, 1);
        else assert.deepStrictEqual(r.data.subarray(4), payloads[i]);
      });
    }
    assert.throws(() => pcapPacket(1, new Uint8Array()), RangeError);
  });

  test('robust against hostile input', () => {
    checkRobust('pcap', fileArb.map(encodePcap), decodePcap);
  });
});
