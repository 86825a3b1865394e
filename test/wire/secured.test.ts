import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeDoeObject, encodeDoeObject } from '../../src/wire/doe.ts';
import { decodeMctpMessage } from '../../src/wire/mctp.ts';
import {
  decodeSecuredAppData,
  decodeSecuredPlaintext,
  decodeSecuredRecord,
  doeSecuredRecordBytes,
  encodeSecuredAppData,
  encodeSecuredPlaintext,
  encodeSecuredRecord,
  makeSecuredRecord,
  type SecuredBinding,
  type SecuredRecord,
  securedHeaderSize,
  securedRecordAad,
} from '../../src/wire/secured.ts';
import { decodeFrame } from '../../src/wire/socket.ts';
import { CAPTURES, type CaptureFrame, frameBytes, loadCapture } from '../support/captures.ts';
import { checkRobust } from '../support/robust.ts';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u16 = fc.integer({ min: 0, max: 0xffff });

function recordArb(binding: SecuredBinding): fc.Arbitrary<SecuredRecord> {
  return fc
    .tuple(
      u32,
      u16,
      fc.uint8Array({ maxLength: 80 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
    )
    .map(([sid, seq, ct, mac]) =>
      makeSecuredRecord(sid, ct, mac, binding === 'mctp' ? seq : undefined),
    );
}

/** Independent builder from the DSP0277 layout. */
function recordBytes(
  sid: number,
  seq: number | undefined,
  ct: number[],
  mac: number[],
): Uint8Array {
  const head = seq === undefined ? 6 : 8;
  const out = new Uint8Array(head + ct.length + mac.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, sid, true);
  if (seq !== undefined) v.setUint16(4, seq, true);
  v.setUint16(head - 2, ct.length + mac.length, true);
  out.set(ct, head);
  out.set(mac, head + ct.length);
  return out;
}

const hex = (s: string) => Uint8Array.from(s.trim().split(/\s+/), (h) => Number.parseInt(h, 16));

describe('DSP0277 secured record layout', () => {
  for (const binding of ['pci_doe', 'mctp'] as const) {
    test(`${binding}: round trips both ways and matches an independent layout`, () => {
      fc.assert(
        fc.property(recordArb(binding), (m) => {
          const b = encodeSecuredRecord(binding, m);
          assert.deepStrictEqual(
            b,
            recordBytes(m.sessionId, m.sequenceNumber, [...m.ciphertext], [...m.mac]),
          );
          assert.deepStrictEqual(decodeSecuredRecord(binding, b), m);
          assert.deepStrictEqual(encodeSecuredRecord(binding, decodeSecuredRecord(binding, b)), b);
          assert.deepStrictEqual(
            securedRecordAad(binding, m),
            b.subarray(0, securedHeaderSize(binding)),
          );
        }),
        { numRuns: 1000 },
      );
    });

    test(`${binding}: robust against hostile input`, () => {
      const arb = recordArb(binding).map((m) => encodeSecuredRecord(binding, m));
      checkRobust(`secured record ${binding}`, arb, (b) => decodeSecuredRecord(binding, b));
    });
  }

  test('length checks', () => {
    const ok = recordBytes(7, undefined, [1, 2, 3], new Array(16).fill(9));
    assert.throws(() => decodeSecuredRecord('pci_doe', ok.subarray(0, ok.length - 1)), {
      kind: 'truncated',
    });
    assert.throws(() => decodeSecuredRecord('pci_doe', Uint8Array.of(...ok, 0)), {
      kind: 'trailing',
    });
    const short = recordBytes(7, undefined, [], new Array(15).fill(9));
    assert.throws(() => decodeSecuredRecord('pci_doe', short), {
      kind: 'bad-field',
      field: 'Length',
    });
    // The same bytes read as MCTP take bytes 4-5 as the sequence number.
    assert.throws(() => decodeSecuredRecord('mctp', ok), { name: 'WireError' });
  });

  test('encoder: sequence number required for MCTP, refused for DOE; a lying Length is written as given', () => {
    const mac = new Uint8Array(16);
    assert.throws(
      () => encodeSecuredRecord('mctp', makeSecuredRecord(1, new Uint8Array(2), mac)),
      RangeError,
    );
    assert.throws(
      () => encodeSecuredRecord('pci_doe', makeSecuredRecord(1, new Uint8Array(2), mac, 0)),
      RangeError,
    );
    assert.throws(
      () =>
        encodeSecuredRecord('pci_doe', makeSecuredRecord(1, new Uint8Array(2), new Uint8Array(15))),
      RangeError,
    );
    const lie = encodeSecuredRecord('pci_doe', {
      sessionId: 1,
      length: 999,
      ciphertext: new Uint8Array(2),
      mac,
    });
    assert.deepStrictEqual([...lie.subarray(4, 6)], [999 & 0xff, 999 >> 8]);
    assert.throws(() => decodeSecuredRecord('pci_doe', lie), { kind: 'truncated' });
  });

  test('doeSecuredRecordBytes strips 0-3 zero pad bytes and nothing else', () => {
    const rec = recordBytes(1, undefined, [1, 2, 3], new Array(16).fill(0)); // 25 bytes
    const obj = decodeDoeObject(encodeDoeObject({ vendorId: 1, type: 2, payload: rec }));
    assert.equal(obj.payload.length, 28);
    assert.deepStrictEqual(doeSecuredRecordBytes(obj.payload), rec);
    assert.deepStrictEqual(doeSecuredRecordBytes(rec), rec);
    assert.throws(() => doeSecuredRecordBytes(Uint8Array.of(...rec, 0, 0, 0, 0)), {
      kind: 'trailing',
    });
    assert.throws(() => doeSecuredRecordBytes(Uint8Array.of(...rec, 0, 1)), { kind: 'trailing' });
    assert.throws(() => doeSecuredRecordBytes(rec.subarray(0, 24)), { kind: 'truncated' });
    const padded = recordArb('pci_doe').map((m) => {
      const b = encodeSecuredRecord('pci_doe', m);
      return decodeDoeObject(encodeDoeObject({ vendorId: 1, type: 2, payload: b })).payload;
    });
    checkRobust('DOE secured payload', padded, doeSecuredRecordBytes, 20_000);
  });
});

describe('DSP0277 plaintext', () => {
  const mctpPlain = fc.record(
    {
      appData: fc.uint8Array({ maxLength: 60 }),
      padding: fc.uint8Array({ minLength: 1, maxLength: 32 }),
    },
    { noNullPrototype: true },
  );
  const doePlain = fc.record(
    { appData: fc.uint8Array({ maxLength: 60 }), padding: fc.constant(new Uint8Array()) },
    { noNullPrototype: true },
  );

  test('round trips both ways', () => {
    for (const [binding, arb] of [
      ['mctp', mctpPlain],
      ['pci_doe', doePlain],
    ] as const) {
      fc.assert(
        fc.property(arb, (p) => {
          const b = encodeSecuredPlaintext(binding, p);
          assert.deepStrictEqual(
            [...b],
            [p.appData.length & 0xff, p.appData.length >> 8, ...p.appData, ...p.padding],
          );
          assert.deepStrictEqual(decodeSecuredPlaintext(binding, b), p);
        }),
        { numRuns: 500 },
      );
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 8 }), (app, pad) => {
        const b = Uint8Array.of(app.length, 0, ...app, ...pad);
        assert.deepStrictEqual(
          encodeSecuredPlaintext('mctp', decodeSecuredPlaintext('mctp', b)),
          b,
        );
      }),
    );
    assert.throws(
      () =>
        encodeSecuredPlaintext('pci_doe', {
          appData: new Uint8Array(1),
          padding: new Uint8Array(1),
        }),
      RangeError,
    );
    assert.throws(() => decodeSecuredPlaintext('mctp', Uint8Array.of(3, 0, 1, 2)), {
      kind: 'truncated',
    });
  });

  test('app data: DOE the bare message, MCTP 0x05 || message', () => {
    const spdm = Uint8Array.of(0x13, 0xec, 1, 0);
    assert.deepStrictEqual(encodeSecuredAppData('pci_doe', spdm), spdm);
    assert.deepStrictEqual([...encodeSecuredAppData('mctp', spdm)], [5, 0x13, 0xec, 1, 0]);
    assert.deepStrictEqual(decodeSecuredAppData('mctp', Uint8Array.of(5, 0x13, 0xec, 1, 0)), spdm);
    assert.throws(() => decodeSecuredAppData('mctp', Uint8Array.of(6, 1)), { kind: 'bad-field' });
    assert.throws(() => decodeSecuredAppData('mctp', new Uint8Array()), { kind: 'truncated' });
  });

  test('robust against hostile input', () => {
    checkRobust(
      'secured plaintext',
      mctpPlain.map((p) => encodeSecuredPlaintext('mctp', p)),
      (b) => decodeSecuredPlaintext('mctp', b),
    );
    checkRobust(
      'secured app data',
      fc.uint8Array({ maxLength: 40 }).map((s) => encodeSecuredAppData('mctp', s)),
      (b) => decodeSecuredAppData('mctp', b),
      20_000,
    );
  });
});

/** The record bytes of a secured capture frame, via the DOE / MCTP codecs. */
function recordOf(f: CaptureFrame): { binding: SecuredBinding; bytes: Uint8Array } | undefined {
  const frame = decodeFrame(frameBytes(f));
  if (frame.command !== 1) return undefined;
  if (frame.transportType === 2) {
    const obj = decodeDoeObject(frame.payload);
    return obj.type === 2
      ? { binding: 'pci_doe', bytes: doeSecuredRecordBytes(obj.payload) }
      : undefined;
  }
  const m = decodeMctpMessage(frame.payload);
  return m.type === 6 ? { binding: 'mctp', bytes: m.body } : undefined;
}

describe('secured records in the libspdm captures', () => {
  test('doe-spdm13-session.txt #0032 (encrypted FINISH): layout by hand', () => {
    const f = loadCapture('doe-spdm13-session.txt').find((x) => x.index === 32)!;
    const { bytes } = recordOf(f)!;
    const rec = decodeSecuredRecord('pci_doe', bytes);
    assert.equal(rec.sessionId, 0xffffffff);
    assert.equal(rec.sequenceNumber, undefined);
    assert.equal(rec.length, 70);
    assert.equal(rec.ciphertext.length, 54); // u16 AppDataLength + 52-byte FINISH
    assert.deepStrictEqual(rec.ciphertext.subarray(0, 4), hex('76 7f 67 6c'));
    assert.deepStrictEqual(
      rec.mac,
      hex('72 71 55 b8 96 94 a0 c8 e9 52 5b 33 b2 3e 68 7f 71 cd 67 3f').subarray(4),
    );
    assert.deepStrictEqual(securedRecordAad('pci_doe', rec), hex('ff ff ff ff 46 00'));
  });

  test('mctp.decoded.txt #0030 (END_SESSION): layout by hand', () => {
    const f = loadCapture('mctp.decoded.txt').find((x) => x.index === 30)!;
    const { bytes } = recordOf(f)!;
    const rec = decodeSecuredRecord('mctp', bytes);
    assert.equal(rec.sessionId, 0xffffffff);
    assert.equal(rec.sequenceNumber, 2);
    assert.equal(rec.length, 47);
    assert.equal(rec.ciphertext.length, 31); // 2 + (0x05 + 4-byte END_SESSION) + 24 random bytes
    assert.deepStrictEqual(rec.ciphertext.subarray(0, 3), hex('7e 16 8d'));
    assert.deepStrictEqual(rec.mac.subarray(12), hex('f8 a5 14 e5'));
    assert.deepStrictEqual(securedRecordAad('mctp', rec), hex('ff ff ff ff 02 00 2f 00'));
  });

  for (const name of CAPTURES) {
    test(`${name}: every secured record parses with the capture's session, sequence and sizes`, () => {
      let n = 0;
      for (const f of loadCapture(name)) {
        const got = recordOf(f);
        if (!got) continue;
        n++;
        const { binding, bytes } = got;
        const rec = decodeSecuredRecord(binding, bytes);
        const at = `frame #${f.index}`;
        assert.deepStrictEqual(encodeSecuredRecord(binding, rec), bytes, at);
        assert.equal(rec.sessionId, f.sessionId, at);
        assert.equal(rec.length, rec.ciphertext.length + 16, at);
        assert.equal(rec.ciphertext.length, 2 + f.appDataLength! + f.padding!, at);
        if (binding === 'mctp') assert.equal(rec.sequenceNumber, f.seq! & 0xffff, at);
        // The plaintext the capture shows fits the layout: rebuilding it with the capture's
        // padding count gives exactly the ciphertext length (AEAD keeps the length).
        const appData = encodeSecuredAppData(binding, f.plaintext!);
        assert.equal(appData.length, f.appDataLength, at);
        const plain = encodeSecuredPlaintext(binding, {
          appData,
          padding: new Uint8Array(f.padding!),
        });
        assert.equal(plain.length, rec.ciphertext.length, at);
        assert.deepStrictEqual(
          decodeSecuredAppData(binding, decodeSecuredPlaintext(binding, plain).appData),
          f.plaintext,
        );
      }
      assert.ok(n >= 16, `${n} secured records`);
    });
  }
});
