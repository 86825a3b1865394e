import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../../../src/wire/errors.ts';
import { concat, fromHex } from '../../../src/wire/hex.ts';
import {
  decodeCertChain,
  encodeCertChain,
  splitDerCertificates,
} from '../../../src/wire/spdm/cert-chain.ts';
import type { Certificate, GetCertificate } from '../../../src/wire/spdm/certificate.ts';
import { decodeSpdm, encodeSpdm } from '../../../src/wire/spdm/codec.ts';
import { SPDM_CERTIFICATE } from '../../../src/wire/spdm/constants.ts';
import { vectorPath } from '../../support/captures.ts';
import { checkRobust } from '../../support/robust.ts';
import {
  arbCertChain,
  canon,
  checkAuthBytesRoundTrip,
  checkAuthMessageRoundTrip,
  checkAuthRobust,
} from '../../support/spdm-arbitraries.ts';

const key = (name: string) =>
  new Uint8Array(readFileSync(vectorPath('libspdm-sample-keys', 'ecp384', name)));

describe('SPDM GET_CERTIFICATE / CERTIFICATE', () => {
  test('message -> bytes -> message', () => checkAuthMessageRoundTrip('certificate'));
  test('decodable bytes re-encode to themselves', () => checkAuthBytesRoundTrip('certificate'));
  test('robust on hostile input', () => checkAuthRobust('certificate'));

  test('GET_CERTIFICATE: slot in Param1 3:0, offset and length', () => {
    const m = decodeSpdm(fromHex('13 82 04 00 00 00 f8 11')) as GetCertificate;
    assert.deepEqual(canon(m), {
      version: 0x13,
      code: 0x82,
      slotId: 4,
      requestAttributes: 0,
      offset: 0,
      length: 0x11f8,
    });
    const odd = fromHex('13 82 a4 01 10 00 20 00');
    const o = decodeSpdm(odd) as GetCertificate;
    assert.deepEqual([o.slotId, o.reserved1, o.requestAttributes], [4, 0xa0, 1]);
    assert.deepEqual(encodeSpdm(o), odd);
    assert.throws(() => encodeSpdm({ ...o, slotId: 16 }), RangeError);
    assert.throws(() => encodeSpdm({ ...o, reserved1: 0x01 }), RangeError);
  });

  test('CERTIFICATE: PortionLength bytes of chain, RemainderLength', () => {
    const bytes = fromHex('13 02 00 01 03 00 10 00 aa bb cc');
    const m = decodeSpdm(bytes) as Certificate;
    assert.equal(m.code, SPDM_CERTIFICATE);
    assert.deepEqual([m.slotId, m.responseAttributes, m.remainderLength], [0, 1, 16]);
    assert.deepEqual(m.certChain, fromHex('aa bb cc'));
    assert.deepEqual(encodeSpdm(m), bytes);
    assert.throws(
      () => decodeSpdm(bytes.subarray(0, 10)),
      (e) => e instanceof WireError && e.field === 'CertChain' && e.kind === 'truncated',
    );
  });
});

describe('SPDM certificate chain buffer', () => {
  test("libspdm's P-384 responder chain: header, root hash, three certificates", () => {
    const bundle = key('bundle_responder.certchain.der');
    const certs = splitDerCertificates(bundle);
    assert.deepEqual(certs, [
      key('ca.cert.der'),
      key('inter.cert.der'),
      key('end_responder.cert.der'),
    ]);
    const rootHash = new Uint8Array(createHash('sha384').update(certs[0]).digest());
    const buf = encodeCertChain({ rootHash, certificates: certs });
    // Independently built: u16 total length, u16 reserved, root hash, the DER bundle.
    const n = 4 + 48 + bundle.length;
    assert.deepEqual(buf, concat(Uint8Array.from([n & 0xff, n >> 8, 0, 0]), rootHash, bundle));
    assert.deepEqual(canon(decodeCertChain(buf, 48)), { rootHash, certificates: certs });
  });

  test('encode -> decode round trip', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(32, 48, 64).chain((h) => arbCertChain(h).map((c) => ({ c, h }))),
        ({ c, h }) => {
          const b = encodeCertChain(c);
          assert.deepEqual(canon(decodeCertChain(b, h)), canon(c));
          assert.deepEqual(encodeCertChain(decodeCertChain(b, h)), b);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('robust on hostile input', () => {
    checkRobust('CertChain', arbCertChain(48).map(encodeCertChain), (b) => decodeCertChain(b, 48));
  });

  test('malformed buffers name the field and offset', () => {
    const good = encodeCertChain({
      rootHash: new Uint8Array(32),
      certificates: [fromHex('30 01 00')],
    });
    const lying = good.slice();
    lying[0]++;
    assert.throws(
      () => decodeCertChain(lying, 32),
      (e) => e instanceof WireError && e.field === 'Length' && e.offset === 0,
    );
    const cases: [string, string, number, WireError['kind']][] = [
      ['31 01 00', 'not a SEQUENCE', 0, 'bad-field'],
      ['30 80 00 00', 'indefinite length', 1, 'bad-field'],
      ['30 85 00 00 00 00 01 00', 'length of length 5', 1, 'bad-field'],
      ['30 82 01', 'length runs past the end', 2, 'truncated'],
      ['30 05 00 00', 'certificate longer than the rest', 0, 'truncated'],
      ['30 00 30', 'second certificate without length', 3, 'truncated'],
    ];
    for (const [hex, why, at, kind] of cases) {
      assert.throws(
        () => splitDerCertificates(fromHex(hex), 100),
        (e) => e instanceof WireError && e.offset === 100 + at && e.kind === kind,
        why,
      );
    }
    assert.deepEqual(splitDerCertificates(fromHex('30 81 01 00 30 00')), [
      fromHex('30 81 01 00'),
      fromHex('30 00'),
    ]);
  });

  test('encoder refuses chains past 65535 bytes', () => {
    const big = new Uint8Array(70000);
    assert.throws(
      () => encodeCertChain({ rootHash: new Uint8Array(48), certificates: [big] }),
      RangeError,
    );
  });
});
