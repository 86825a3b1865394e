/**
 * Device identities for SPDM responders and requesters: root CA -> intermediate -> leaf,
 * shaped like libspdm's sample certificates (DSP0274 1.3 section 10.7.2 "Leaf certificate";
 * libspdm-sample-keys/ecp384/end_responder.cert.der): leaf with basicConstraints CA:FALSE
 * (critical), keyUsage, SKI/AKI, a SubjectAltName carrying the DMTF device-info otherName and
 * the PCI-SIG CMA otherName (2.23.147, the form Linux's CMA code checks), a critical
 * extendedKeyUsage with serverAuth/clientAuth/OCSPSigning plus the DMTF responder- or
 * requester-auth purpose, and the DMTF SPDM extension marking a hardware identity.
 *
 * Under a seeded RandomSource (a replayable run) the whole chain repeats byte for byte: keys
 * (except RSA), serial numbers, validity (from REPLAY_EPOCH_MS, not the wall clock) and the
 * signatures (deterministic, asym.ts). Otherwise serials and signatures are random.
 */
import { createHash, type KeyObject, webcrypto } from 'node:crypto';
import {
  ASYM_INFO,
  type AsymAlg,
  asymAlgsForKey,
  asymSign,
  generateSigningKeyPair,
} from './asym.ts';
import { DMTF_OID, PCISIG_CMA_OID, X509_OID } from './cert-oids.ts';
import { children, explicit, oid, readTlv, sequence, utf8String } from './der.ts';
import { ecCurveOfKey } from './ec.ts';
import { CryptoError } from './errors.ts';
import type { HashAlg } from './hash.ts';
import { isSeededRandom, type RandomSource, REPLAY_EPOCH_MS } from './random.ts';
import { hookedCrypto, x509 } from './x509-provider.ts';

/** The PCI identity the CMA SubjectAltName names (PCIe 6.1 section 6.31.3). */
export interface PcieIdentity {
  vendorId: number;
  deviceId: number;
  /** 24-bit class code. */
  classCode: number;
  revision: number;
  /** Present for type 0 (endpoint) functions. */
  subsystemVendorId?: number;
  subsystemId?: number;
  /** Device Serial Number capability value, when the function has one. */
  serial?: bigint;
}

const hexPad = (v: number | bigint, n: number) => v.toString(16).padStart(n, '0');

/** "Vendor=8086:Device=0b25:CC=088000:REV=01:SSVID=8086:SSID=0000[:serial]" (Linux pci_cma_construct_san). */
export function pcieCmaName(id: PcieIdentity): string {
  let s = `Vendor=${hexPad(id.vendorId, 4)}:Device=${hexPad(id.deviceId, 4)}:CC=${hexPad(id.classCode, 6)}:REV=${hexPad(id.revision, 2)}`;
  if (id.subsystemVendorId !== undefined) {
    s += `:SSVID=${hexPad(id.subsystemVendorId, 4)}:SSID=${hexPad(id.subsystemId ?? 0, 4)}`;
  }
  if (id.serial) s += `:${hexPad(id.serial, 16)}`;
  return s;
}

/** GeneralName otherName: [0] { type-id OID, [0] EXPLICIT UTF8String }. */
function otherName(typeId: string, value: string): Uint8Array {
  return explicit(0, oid(typeId), explicit(0, utf8String(value)));
}

export interface CertifiedKey {
  /** DER certificate. */
  certificate: Uint8Array;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface RawExtension {
  oid: string;
  critical: boolean;
  /** DER of the extension value (inside the OCTET STRING). */
  value: Uint8Array;
}

export interface IssueOptions {
  /** Subject distinguished name, e.g. "CN=teeio root". */
  subject: string;
  /** The subject's key pair. */
  subjectKey: { publicKey: KeyObject; privateKey?: KeyObject };
  /** The issuer (certificate + private key); omitted for a self-signed certificate. */
  issuer?: CertifiedKey;
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
  /** Leaf only: otherNames for the SubjectAltName. */
  subjectAltNames?: { oid: string; value: string }[];
  /** Leaf only: extendedKeyUsage purposes (critical, as libspdm's samples). */
  extendedKeyUsage?: string[];
  /** Leaf only: OIDs listed in the DMTF SPDM extension. */
  spdmExtensionOids?: string[];
  /** Anything else, verbatim (tests use this to build odd certificates). */
  extraExtensions?: RawExtension[];
  /**
   * Draws the serial number; a SeededRandom also makes the signature deterministic, so
   * one seed gives one certificate. Default: random serial and signature.
   */
  rng?: RandomSource;
}

type WebAlgorithm =
  | webcrypto.RsaHashedImportParams
  | webcrypto.EcKeyImportParams
  | webcrypto.Algorithm;

function webAlgorithm(key: KeyObject): WebAlgorithm {
  const curve = ecCurveOfKey(key);
  if (curve) return { name: 'ECDSA', namedCurve: curve };
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  if (key.asymmetricKeyType === 'ed25519') return { name: 'Ed25519' };
  throw new CryptoError('bad-key', `cannot issue certificates with a ${key.asymmetricKeyType} key`);
}

const CURVE_HASH = { 'P-256': 'sha256', 'P-384': 'sha384', 'P-521': 'sha512' } as const;
const WEB_HASH: Record<HashAlg, string> = {
  sha256: 'SHA-256',
  sha384: 'SHA-384',
  sha512: 'SHA-512',
  'sha3-256': 'SHA3-256',
  'sha3-384': 'SHA3-384',
  'sha3-512': 'SHA3-512',
};

function signatureAlgorithm(key: KeyObject): webcrypto.Algorithm | webcrypto.EcdsaParams {
  const curve = ecCurveOfKey(key);
  if (curve) return { name: 'ECDSA', hash: WEB_HASH[CURVE_HASH[curve]] } as webcrypto.EcdsaParams;
  return webAlgorithm(key);
}

/**
 * The certificate signature of `signatureAlgorithm` as asymSign's algorithm and hash:
 * ECDSA with the curve's hash, RSASSA-PKCS1-v1_5 with SHA-256, Ed25519.
 * @throws CryptoError('bad-key') for a key size asymSign does not cover.
 */
function certSigner(key: KeyObject): { alg: AsymAlg; hash: HashAlg } {
  const curve = ecCurveOfKey(key);
  const alg = asymAlgsForKey(key).find((a) => ASYM_INFO[a].kind !== 'rsapss');
  if (!alg) throw new CryptoError('bad-key', `cannot sign certificates deterministically`);
  return { alg, hash: curve ? CURVE_HASH[curve] : 'sha256' };
}

const spki = (k: KeyObject) => new Uint8Array(k.export({ format: 'der', type: 'spki' }));

/** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1), via node so it is sync. */
function keyId(k: KeyObject): string {
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }: hash the
  // BIT STRING's key bytes (after its unused-bits byte).
  const bits = children(readTlv(spki(k)).value)[1].value.subarray(1);
  return createHash('sha1').update(bits).digest('hex');
}

/**
 * Issues one X.509 v3 certificate.
 * @throws CryptoError('bad-key') for an issuer key type x509 signing does not support.
 */
export async function issueCertificate(o: IssueOptions): Promise<Uint8Array> {
  const signerKey = o.issuer?.privateKey ?? o.subjectKey.privateKey;
  if (!signerKey)
    throw new RangeError('issueCertificate: self-signed needs the subject private key');
  const issuerName = o.issuer ? new x509.X509Certificate(o.issuer.certificate).subject : o.subject;
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    signerKey.export({ format: 'der', type: 'pkcs8' }),
    webAlgorithm(signerKey),
    false,
    ['sign'],
  );
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(o.ca, undefined, true),
    new x509.KeyUsagesExtension(
      o.ca
        ? x509.KeyUsageFlags.keyCertSign |
            x509.KeyUsageFlags.cRLSign |
            x509.KeyUsageFlags.digitalSignature
        : x509.KeyUsageFlags.digitalSignature |
            x509.KeyUsageFlags.nonRepudiation |
            x509.KeyUsageFlags.keyEncipherment,
      false,
    ),
    new x509.SubjectKeyIdentifierExtension(keyId(o.subjectKey.publicKey)),
  ];
  if (o.issuer)
    extensions.push(new x509.AuthorityKeyIdentifierExtension(keyId(o.issuer.publicKey)));
  if (o.subjectAltNames?.length) {
    const names = sequence(...o.subjectAltNames.map((n) => otherName(n.oid, n.value)));
    extensions.push(new x509.Extension(X509_OID.SUBJECT_ALT_NAME, false, names));
  }
  if (o.extendedKeyUsage?.length)
    extensions.push(new x509.ExtendedKeyUsageExtension(o.extendedKeyUsage, true));
  if (o.spdmExtensionOids?.length) {
    const value = sequence(...o.spdmExtensionOids.map((id) => sequence(oid(id))));
    extensions.push(new x509.Extension(DMTF_OID.SPDM_EXTENSION, false, value));
  }
  for (const e of o.extraExtensions ?? [])
    extensions.push(new x509.Extension(e.oid, e.critical, e.value));
  let crypto: webcrypto.Crypto | undefined;
  if (isSeededRandom(o.rng)) {
    const { alg, hash } = certSigner(signerKey);
    const rng = o.rng;
    crypto = hookedCrypto((tbs) => asymSign(alg, hash, signerKey, tbs, rng), rng);
  }
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: o.rng && Buffer.from(o.rng(16)).toString('hex'),
      subject: o.subject,
      issuer: issuerName,
      notBefore: o.notBefore,
      notAfter: o.notAfter,
      publicKey: spki(o.subjectKey.publicKey),
      signingKey,
      signingAlgorithm: signatureAlgorithm(signerKey),
      extensions,
    },
    crypto,
  );
  return new Uint8Array(cert.rawData);
}

export interface DeviceIdentityOptions {
  /** Key algorithm of all three certificates (default ecdsa-p384, libspdm's sample suite). */
  asym?: AsymAlg;
  role?: 'responder' | 'requester';
  /** Common-name stem: "<name> root CA", "<name> intermediate", "<name> <role>". */
  name?: string;
  /** The PCI-SIG CMA otherName, as a PCI identity or a ready string. */
  pcie?: PcieIdentity | string;
  /** The DMTF device-info otherName (libspdm's samples use "ACME:WIDGET:1234567890"). */
  deviceInfo?: string;
  /** Mark the leaf as a hardware identity in the SPDM extension (default true). */
  hardwareIdentity?: boolean;
  /** Default: an hour ago, or REPLAY_EPOCH_MS under a SeededRandom. */
  notBefore?: Date;
  /** Default: ten years on, or 9999-12-31T23:59:59Z (RFC 5280 4.1.2.5) under a SeededRandom. */
  notAfter?: Date;
  /**
   * Draws the ECDSA and Ed25519 keys (RSA keys come from node's RNG) and the serial numbers;
   * a SeededRandom makes the whole chain repeatable (see the file header).
   */
  rng?: RandomSource;
}

/** RFC 5280 4.1.2.5: the notAfter of a certificate with no well-defined expiration date. */
const NO_EXPIRY = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

export interface DeviceIdentity {
  asym: AsymAlg;
  root: CertifiedKey;
  intermediate: CertifiedKey;
  leaf: CertifiedKey;
  /** DER certificates root first, leaf last: what follows RootHash in the SPDM chain. */
  certificates: Uint8Array[];
}

/**
 * A fresh root -> intermediate -> leaf identity for an SPDM endpoint.
 * @throws CryptoError('bad-key') for an algorithm x509 signing does not support.
 */
export async function generateDeviceIdentity(
  o: DeviceIdentityOptions = {},
): Promise<DeviceIdentity> {
  const asym = o.asym ?? 'ecdsa-p384';
  const role = o.role ?? 'responder';
  const name = o.name ?? 'teeio';
  const seeded = isSeededRandom(o.rng);
  const notBefore = o.notBefore ?? new Date(seeded ? REPLAY_EPOCH_MS : Date.now() - 3600_000);
  const notAfter =
    o.notAfter ?? (seeded ? NO_EXPIRY : new Date(notBefore.getTime() + 10 * 365 * 86400_000));
  const keys = () => generateSigningKeyPair(asym, o.rng);
  const certify = async (opts: Omit<IssueOptions, 'subjectKey' | 'notBefore' | 'notAfter'>) => {
    const k = keys();
    const certificate = await issueCertificate({
      ...opts,
      subjectKey: k,
      notBefore,
      notAfter,
      rng: o.rng,
    });
    return { certificate, ...k };
  };
  const root = await certify({ subject: `CN=${name} root CA`, ca: true });
  const intermediate = await certify({
    subject: `CN=${name} intermediate`,
    issuer: root,
    ca: true,
  });
  const sans: { oid: string; value: string }[] = [];
  if (o.deviceInfo) sans.push({ oid: DMTF_OID.DEVICE_INFO, value: o.deviceInfo });
  if (o.pcie)
    sans.push({
      oid: PCISIG_CMA_OID,
      value: typeof o.pcie === 'string' ? o.pcie : pcieCmaName(o.pcie),
    });
  const leaf = await certify({
    subject: `CN=${name} ${role}`,
    issuer: intermediate,
    ca: false,
    subjectAltNames: sans,
    extendedKeyUsage: [
      X509_OID.SERVER_AUTH,
      X509_OID.CLIENT_AUTH,
      X509_OID.OCSP_SIGNING,
      role === 'responder' ? DMTF_OID.EKU_RESPONDER_AUTH : DMTF_OID.EKU_REQUESTER_AUTH,
    ],
    spdmExtensionOids: o.hardwareIdentity === false ? [] : [DMTF_OID.HARDWARE_IDENTITY],
  });
  if (!asymAlgsForKey(leaf.publicKey).includes(asym))
    throw new CryptoError('bad-key', `leaf key does not fit ${asym}`);
  return {
    asym,
    root,
    intermediate,
    leaf,
    certificates: [root.certificate, intermediate.certificate, leaf.certificate],
  };
}
