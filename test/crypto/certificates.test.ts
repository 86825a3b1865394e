/**
 * Certificates: libspdm's sample identity loads and verifies; a generated identity carries
 * the SPDM leaf extensions and verifies; each failure reason comes from a chain broken on
 * purpose.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { asymSign, asymVerify, generateSigningKeyPair } from '../../src/crypto/asym.ts';
import {
  type DeviceIdentity,
  generateDeviceIdentity,
  issueCertificate,
  pcieCmaName,
} from '../../src/crypto/cert-build.ts';
import { buildCertChain, certChainDigest } from '../../src/crypto/cert-chain.ts';
import {
  loadCertificates,
  loadPrivateKey,
  parseCertificates,
  parsePrivateKey,
} from '../../src/crypto/cert-load.ts';
import { DMTF_OID, PCISIG_CMA_OID } from '../../src/crypto/cert-oids.ts';
import {
  type CertVerifyOptions,
  type CertVerifyResult,
  certificateExtensions,
  subjectAltOtherNames,
  verifyCertChain,
} from '../../src/crypto/cert-verify.ts';
import { isCryptoError } from '../../src/crypto/errors.ts';
import { REPLAY_EPOCH_MS, seededRandom } from '../../src/crypto/random.ts';
import { concat, toHex } from '../../src/wire/hex.ts';
import { logValues, vectorPath } from '../support/captures.ts';

const sample = (f: string) => vectorPath('libspdm-sample-keys', 'ecp384', f);
const reasonOf = (r: CertVerifyResult) => (r.ok ? 'ok' : `${r.reason}@${r.certIndex}`);

describe('libspdm sample identity', () => {
  it('the DER bundle loads, chains and verifies against ca.cert.der with every requirement', () => {
    const certs = loadCertificates(sample('bundle_responder.certchain.der'));
    assert.equal(certs.length, 3);
    assert.equal(toHex(certs[0]), toHex(readFileSync(sample('ca.cert.der'))));
    assert.equal(toHex(certs[2]), toHex(readFileSync(sample('end_responder.cert.der'))));
    const chain = buildCertChain('sha384', certs);
    // The same buffer libspdm served in slot 0: its digest is DIGESTS slot 0 of the capture.
    assert.equal(
      toHex(certChainDigest('sha384', chain)),
      toHex(logValues('doe-spdm13-session.requester.log', 'digest')[0]),
    );
    const r = verifyCertChain(chain, {
      hash: 'sha384',
      trustAnchors: loadCertificates(sample('ca.cert.der')),
      asym: 'ecdsa-p384',
      at: new Date('2025-01-01T00:00:00Z'),
      require: { deviceInfoSan: true, hardwareIdentity: true },
    });
    assert.equal(reasonOf(r), 'ok');
    // libspdm's samples carry no DMTF EKU purpose nor a PCI-SIG name: those requirements fail.
    const strict = (require: CertVerifyOptions['require']) =>
      reasonOf(
        verifyCertChain(chain, {
          hash: 'sha384',
          trustAnchors: [certs[0]],
          at: new Date('2025-01-01'),
          require,
        }),
      );
    assert.equal(strict({ spdmEku: 'responder' }), 'missing-extension@2');
    assert.equal(strict({ pcieSan: true }), 'missing-extension@2');
  });

  it('the PKCS#8 PEM key (CRLF) is the leaf key; PEM/DER/SEC1 forms load alike', () => {
    const key = loadPrivateKey(sample('end_responder.key'));
    const leaf = parseCertificates(readFileSync(sample('end_responder.cert.der')))[0];
    const r = verifyCertChain(
      buildCertChain('sha384', loadCertificates(sample('bundle_responder.certchain.der'))),
      {
        hash: 'sha384',
        trustAnchors: loadCertificates(sample('ca.cert.der')),
        at: new Date('2025-01-01'),
      },
    );
    assert.ok(r.ok);
    const sig = asymSign('ecdsa-p384', 'sha384', key, Uint8Array.of(1, 2, 3));
    assert.ok(asymVerify('ecdsa-p384', 'sha384', r.leafPublicKey, Uint8Array.of(1, 2, 3), sig));
    for (const form of [
      key.export({ format: 'der', type: 'pkcs8' }),
      key.export({ format: 'der', type: 'sec1' }),
      Buffer.from(key.export({ format: 'pem', type: 'sec1' }) as string),
    ]) {
      const k = parsePrivateKey(new Uint8Array(form));
      assert.ok(
        asymVerify(
          'ecdsa-p384',
          'sha384',
          r.leafPublicKey,
          Uint8Array.of(9),
          asymSign('ecdsa-p384', 'sha384', k, Uint8Array.of(9)),
        ),
      );
    }
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(leaf).toString('base64')}\n-----END CERTIFICATE-----\n`;
    assert.equal(toHex(parseCertificates(Buffer.from(pem.repeat(2)))[1]), toHex(leaf));
    assert.throws(
      () => parsePrivateKey(Uint8Array.of(1, 2, 3)),
      (e) => isCryptoError(e) && e.reason === 'malformed',
    );
    assert.throws(
      () => parseCertificates(Uint8Array.of(0x30, 0x82, 0xff)),
      (e) => isCryptoError(e) && e.reason === 'malformed',
    );
  });
});

describe('generated identities', () => {
  let id: DeviceIdentity;
  let chain: Uint8Array;
  const pcie = {
    vendorId: 0x8086,
    deviceId: 0x0b25,
    classCode: 0x088000,
    revision: 1,
    subsystemVendorId: 0x8086,
    subsystemId: 0,
  };
  const opts = (): CertVerifyOptions => ({
    hash: 'sha384',
    trustAnchors: [id.root.certificate],
    asym: 'ecdsa-p384',
    require: {
      spdmEku: 'responder',
      pcieSan: pcieCmaName(pcie),
      deviceInfoSan: true,
      hardwareIdentity: true,
    },
  });

  before(async () => {
    id = await generateDeviceIdentity({ pcie, deviceInfo: 'TEEIO:DEVICE:0001' });
    chain = buildCertChain('sha384', id.certificates);
  });

  it("the leaf carries libspdm's extension layout plus the PCI-SIG and DMTF names", () => {
    const exts = certificateExtensions(id.leaf.certificate);
    assert.deepEqual(
      exts.map((e) => [e.oid, e.critical]),
      [
        ['2.5.29.19', true],
        ['2.5.29.15', false],
        ['2.5.29.14', false],
        ['2.5.29.35', false],
        ['2.5.29.17', false],
        ['2.5.29.37', true],
        [DMTF_OID.SPDM_EXTENSION, false],
      ],
    );
    const san = exts.find((e) => e.oid === '2.5.29.17')!;
    assert.deepEqual(subjectAltOtherNames(san.value), [
      { oid: DMTF_OID.DEVICE_INFO, value: 'TEEIO:DEVICE:0001' },
      {
        oid: PCISIG_CMA_OID,
        value: 'Vendor=8086:Device=0b25:CC=088000:REV=01:SSVID=8086:SSID=0000',
      },
    ]);
    // The SPDM extension bytes equal libspdm's sample (SEQUENCE { SEQUENCE { hardware-identity } }).
    const spdm = exts.find((e) => e.oid === DMTF_OID.SPDM_EXTENSION)!;
    assert.equal(toHex(spdm.value), '300e300c060a2b06010401831c821202');
    // And the libspdm sample leaf decodes to the same DMTF otherName shape.
    const sampleSan = certificateExtensions(readFileSync(sample('end_responder.cert.der'))).find(
      (e) => e.oid === '2.5.29.17',
    )!;
    assert.deepEqual(subjectAltOtherNames(sampleSan.value), [
      { oid: DMTF_OID.DEVICE_INFO, value: 'ACME:WIDGET:1234567890' },
    ]);
  });

  it('verifies with every requirement; the chain is root first with the root hash', () => {
    assert.equal(reasonOf(verifyCertChain(chain, opts())), 'ok');
    assert.equal(chain[0] | (chain[1] << 8), chain.length);
  });

  it('a chain verified again gives the same verdict; changing a verdict changes nothing kept', () => {
    const first = verifyCertChain(chain, opts());
    assert.ok(first.ok);
    first.certificates[0].fill(0);
    const again = verifyCertChain(chain, opts());
    assert.ok(again.ok);
    assert.equal(toHex(again.certificates[0]), toHex(id.root.certificate));
  });

  it('each failure reason from a deliberately broken chain', async () => {
    const other = await generateDeviceIdentity({ asym: 'ecdsa-p256' });
    const check = (buf: Uint8Array, o: Partial<CertVerifyOptions> = {}) =>
      reasonOf(verifyCertChain(buf, { ...opts(), ...o }));
    // wrong-root: a chain from another CA.
    assert.equal(check(chain, { trustAnchors: [other.root.certificate] }), 'wrong-root@0');
    // bad-root-hash: the header's RootHash is not the root's hash.
    const badHash = Uint8Array.from(chain);
    badHash[4] ^= 1;
    assert.equal(check(badHash), 'bad-root-hash@0');
    // bad-signature: the leaf re-signed by another intermediate (names match, key does not).
    const forged = buildCertChain('sha384', [
      id.root.certificate,
      id.intermediate.certificate,
      other.leaf.certificate,
    ]);
    assert.equal(check(forged, { asym: undefined, require: {} }), 'bad-signature@2');
    // bad-signature: one flipped bit in the intermediate's signature.
    const inter = Uint8Array.from(id.intermediate.certificate);
    inter[inter.length - 2] ^= 1;
    assert.equal(
      check(buildCertChain('sha384', [id.root.certificate, inter, id.leaf.certificate])),
      'bad-signature@1',
    );
    // expired / not-yet-valid: verification time outside the validity.
    assert.equal(check(chain, { at: new Date(Date.now() + 20 * 365 * 86400_000) }), 'expired@0');
    assert.equal(check(chain, { at: new Date('2001-01-01') }), 'not-yet-valid@0');
    // wrong-key-type: a P-384 chain when P-256 was negotiated.
    assert.equal(check(chain, { asym: 'ecdsa-p256' }), 'wrong-key-type@2');
    // missing-extension: leaf without the PCI-SIG name, or the wrong one; a non-CA issuer.
    const plain = await generateDeviceIdentity({});
    assert.equal(
      check(buildCertChain('sha384', plain.certificates), {
        trustAnchors: [plain.root.certificate],
      }),
      'missing-extension@2',
    );
    assert.equal(
      check(chain, { require: { pcieSan: 'Vendor=1af4:Device=1000:CC=020000:REV=00' } }),
      'missing-extension@2',
    );
    const k = generateSigningKeyPair('ecdsa-p384');
    const now = new Date(Date.now() - 60_000);
    const later = new Date(Date.now() + 86400_000);
    const notCa = {
      certificate: await issueCertificate({
        subject: 'CN=not a CA',
        subjectKey: k,
        issuer: id.root,
        ca: false,
        notBefore: now,
        notAfter: later,
      }),
      ...k,
    };
    const leafUnderNotCa = await issueCertificate({
      subject: 'CN=leaf',
      subjectKey: generateSigningKeyPair('ecdsa-p384'),
      issuer: notCa,
      ca: false,
      notBefore: now,
      notAfter: later,
    });
    assert.equal(
      check(buildCertChain('sha384', [id.root.certificate, notCa.certificate, leafUnderNotCa]), {
        require: {},
      }),
      'missing-extension@1',
    );
    // malformed: a header that lies, garbage DER, a truncated certificate.
    assert.equal(check(chain.subarray(0, chain.length - 1)), 'malformed@-1');
    assert.equal(
      check(buildCertChain('sha384', [Uint8Array.of(0x30, 0x03, 1, 2, 3)])),
      'malformed@0',
    );
    assert.equal(check(concat(Uint8Array.of(6, 0, 0, 0), new Uint8Array(2))), 'malformed@-1');
  });

  it('never throws on mutated or arbitrary chain buffers', () => {
    const good = reasonOf(verifyCertChain(chain, opts()));
    fc.assert(
      fc.property(
        fc.nat(chain.length - 1),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(chain.length),
        (at, x, cut) => {
          const m = Uint8Array.from(chain);
          m[at] ^= x;
          const r = verifyCertChain(m.subarray(0, Math.max(cut, at + 1)), opts());
          // Only the Reserved bytes (2-3) are outside every check.
          if (r.ok) assert.ok((at === 2 || at === 3) && cut >= chain.length && good === 'ok');
        },
      ),
      { numRuns: 150 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => !verifyCertChain(b, opts()).ok),
    );
  });

  it("a chain may start below the root: RootHash is then the anchor's hash", () => {
    const below = buildCertChain(
      'sha384',
      [id.intermediate.certificate, id.leaf.certificate],
      id.root.certificate,
    );
    assert.equal(reasonOf(verifyCertChain(below, opts())), 'ok');
  });

  it('P-256 and P-521 identities verify with their own algorithm (RSA: certificates.slow)', async () => {
    for (const asym of ['ecdsa-p256', 'ecdsa-p521'] as const) {
      const g = await generateDeviceIdentity({ asym, role: 'requester' });
      const r = verifyCertChain(buildCertChain('sha256', g.certificates), {
        hash: 'sha256',
        trustAnchors: [g.root.certificate],
        asym,
        require: { spdmEku: 'requester', hardwareIdentity: true },
      });
      assert.equal(reasonOf(r), 'ok', asym);
    }
  });
});

describe('seeded identities', () => {
  const der = (id: DeviceIdentity) => id.certificates.map(toHex);
  const pkcs8 = (id: DeviceIdentity) =>
    toHex(id.leaf.privateKey.export({ format: 'der', type: 'pkcs8' }));

  for (const asym of ['ecdsa-p384', 'ecdsa-p256', 'ed25519'] as const) {
    it(`${asym}: one seed gives one chain, byte for byte; another seed another`, async () => {
      const gen = (seed: string) =>
        generateDeviceIdentity({ asym, pcie: 'Vendor=8086', rng: seededRandom(seed, 'identity') });
      const [a, b, c] = [await gen('one'), await gen('one'), await gen('two')];
      assert.deepEqual(der(a), der(b));
      assert.equal(pkcs8(a), pkcs8(b));
      for (let i = 0; i < 3; i++) assert.notEqual(der(a)[i], der(c)[i], `certificate ${i}`);
      assert.notEqual(pkcs8(a), pkcs8(c));
      // Validity from the replay epoch, not the wall clock; serials from the seed.
      const certs = a.certificates.map((d) => new X509Certificate(Buffer.from(d)));
      for (const x of certs) {
        assert.equal(new Date(x.validFrom).getTime(), REPLAY_EPOCH_MS);
        assert.equal(new Date(x.validTo).toISOString(), '9999-12-31T23:59:59.000Z');
      }
      assert.equal(new Set(certs.map((x) => x.serialNumber)).size, 3);
      const r = verifyCertChain(buildCertChain('sha384', a.certificates), {
        hash: 'sha384',
        trustAnchors: [a.root.certificate],
        asym,
        require: { spdmEku: 'responder', pcieSan: true, hardwareIdentity: true },
      });
      assert.equal(reasonOf(r), 'ok');
    });
  }

  it('without a seed, serials and signatures differ run to run', async () => {
    const keys = generateSigningKeyPair('ecdsa-p256');
    const issue = () =>
      issueCertificate({
        subject: 'CN=unseeded',
        subjectKey: keys,
        ca: true,
        notBefore: new Date('2025-01-01T00:00:00Z'),
        notAfter: new Date('2035-01-01T00:00:00Z'),
      });
    const [a, b] = [await issue(), await issue()];
    const [xa, xb] = [a, b].map((d) => new X509Certificate(Buffer.from(d)));
    assert.notEqual(xa.serialNumber, xb.serialNumber);
    assert.ok(xa.verify(keys.publicKey) && xb.verify(keys.publicKey));
  });
});
