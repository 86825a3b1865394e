/**
 * Verifying a peer's SPDM certificate chain buffer (DSP0274 1.3 section 10.7 and the leaf
 * rules of 10.7.2; libspdm's libspdm_verify_peer_cert_chain_buffer): trust anchor and
 * RootHash, each signature, validity at a given time, basicConstraints CA on every
 * certificate above the leaf, the leaf key fitting the negotiated algorithm, and the leaf
 * extensions a policy requires (SPDM EKU, PCI-SIG CMA SubjectAltName, DMTF device info,
 * hardware identity). Never throws: every failure is a result naming the certificate.
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import { bytesEqual } from '../wire/hex.ts';
import { decodeCertChain } from '../wire/spdm/cert-chain.ts';
import { type AsymAlg, keyMatchesAsym } from './asym.ts';
import { DMTF_OID, PCISIG_CMA_OID, X509_OID } from './cert-oids.ts';
import { children, decodeOid, readTlv } from './der.ts';
import { digest, type HashAlg, hashSize } from './hash.ts';
import { KeptResults, keptKey } from './kept.ts';

export type CertVerifyFailure =
  | 'bad-signature'
  | 'wrong-root'
  | 'expired'
  | 'not-yet-valid'
  | 'missing-extension'
  | 'wrong-key-type'
  | 'malformed'
  | 'bad-root-hash';

export type CertVerifyResult =
  | {
      ok: true;
      leaf: X509Certificate;
      leafPublicKey: KeyObject;
      certificates: Uint8Array[];
      /** When every certificate of the chain is valid (ms since the epoch), for caching. */
      validFrom: number;
      validTo: number;
    }
  /** certIndex: position in the chain (0 = first certificate), -1 for the buffer itself. */
  | { ok: false; reason: CertVerifyFailure; detail: string; certIndex: number };

export interface LeafRequirements {
  /** The DMTF EKU purpose the leaf must list (responder-auth / requester-auth). */
  spdmEku?: 'responder' | 'requester';
  /** A PCI-SIG CMA otherName (2.23.147); a string must match exactly. */
  pcieSan?: boolean | string;
  /** A DMTF device-info otherName (1.3.6.1.4.1.412.274.1). */
  deviceInfoSan?: boolean;
  /** The DMTF SPDM extension listing hardware identity. */
  hardwareIdentity?: boolean;
}

export interface CertVerifyOptions {
  /** The negotiated base hash (RootHash size and algorithm). */
  hash: HashAlg;
  /** Trusted root certificates, DER. */
  trustAnchors: Uint8Array[];
  /** The negotiated asym algorithm the leaf key must fit. */
  asym?: AsymAlg;
  /** Verification time (default now). */
  at?: Date;
  require?: LeafRequirements;
  /**
   * The SPDM role of the chain's owner. A leaf whose EKU lists the other role's DMTF purpose
   * and not this one's is refused, as libspdm_verify_leaf_cert_spdm_eku does (a leaf naming
   * neither, or both, passes: `require.spdmEku` asks for this role's purpose outright).
   */
  role?: 'responder' | 'requester';
}

export interface CertExtension {
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

/**
 * The extensions of a DER certificate.
 * @throws DerError when the certificate's DER does not parse.
 */
export function certificateExtensions(der: Uint8Array): CertExtension[] {
  const cert = children(readTlv(der).value);
  const tbs = children(cert[0].value);
  const ext = tbs.find((t) => t.tag === 0xa3);
  if (!ext) return [];
  return children(readTlv(ext.value).value).map((e) => {
    const parts = children(e.value);
    const critical = parts.length === 3 && parts[1].tag === 0x01 && parts[1].value[0] !== 0;
    return { oid: decodeOid(parts[0].value), critical, value: parts[parts.length - 1].value };
  });
}

/**
 * The otherName entries of a SubjectAltName extension value, as {oid, UTF8 value}.
 * @throws DerError when the value does not parse.
 */
export function subjectAltOtherNames(sanValue: Uint8Array): { oid: string; value: string }[] {
  const out: { oid: string; value: string }[] = [];
  for (const gn of children(readTlv(sanValue).value)) {
    if (gn.tag !== 0xa0) continue; // [0] otherName
    const [id, wrapped] = children(gn.value);
    if (!id || !wrapped) continue;
    const inner = readTlv(wrapped.value);
    out.push({ oid: decodeOid(id.value), value: Buffer.from(inner.value).toString('utf8') });
  }
  return out;
}

/**
 * Parsed certificates by their DER, so a chain or trust anchor seen on every connection is
 * parsed once (OpenSSL's decoder costs about as much as a signature check). Parsing and
 * each issuer's signature over a certificate are cached (signedBy, keyed by both
 * certificates' DER); validity and extensions are checked on every call.
 */
const parsedCache = new Map<string, X509Certificate>();
const PARSED_CACHE_SIZE = 64;

/** @throws what X509Certificate throws on DER that does not parse. */
function parseCertificate(der: Uint8Array): X509Certificate {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let cert = parsedCache.get(key);
  if (!cert) {
    cert = new X509Certificate(Buffer.from(der));
    if (parsedCache.size >= PARSED_CACHE_SIZE) {
      parsedCache.delete(parsedCache.keys().next().value as string);
    }
    parsedCache.set(key, cert);
  }
  return cert;
}

function fail(reason: CertVerifyFailure, detail: string, certIndex: number): CertVerifyResult {
  return { ok: false, reason, detail, certIndex };
}

/** The other role's DMTF EKU purpose without this role's: refused (see CertVerifyOptions.role). */
function checkLeafRole(
  der: Uint8Array,
  role: 'responder' | 'requester',
  index: number,
): CertVerifyResult | undefined {
  const eku = certificateExtensions(der).find((e) => e.oid === X509_OID.EXT_KEY_USAGE);
  if (!eku) return undefined;
  const purposes = children(readTlv(eku.value).value).map((t) => decodeOid(t.value));
  const mine = role === 'responder' ? DMTF_OID.EKU_RESPONDER_AUTH : DMTF_OID.EKU_REQUESTER_AUTH;
  const other = role === 'responder' ? DMTF_OID.EKU_REQUESTER_AUTH : DMTF_OID.EKU_RESPONDER_AUTH;
  if (purposes.includes(other) && !purposes.includes(mine)) {
    return fail(
      'missing-extension',
      `leaf EKU names SPDM ${role === 'responder' ? 'requester' : 'responder'}-auth ${other}, not ${role}-auth`,
      index,
    );
  }
  return undefined;
}

function checkLeaf(
  der: Uint8Array,
  req: LeafRequirements,
  index: number,
): CertVerifyResult | undefined {
  const exts = certificateExtensions(der);
  const find = (id: string) => exts.find((e) => e.oid === id);
  if (req.spdmEku) {
    const want =
      req.spdmEku === 'responder' ? DMTF_OID.EKU_RESPONDER_AUTH : DMTF_OID.EKU_REQUESTER_AUTH;
    const eku = find(X509_OID.EXT_KEY_USAGE);
    const purposes = eku ? children(readTlv(eku.value).value).map((t) => decodeOid(t.value)) : [];
    if (!purposes.includes(want))
      return fail('missing-extension', `leaf EKU lacks SPDM ${req.spdmEku}-auth ${want}`, index);
  }
  if (req.pcieSan || req.deviceInfoSan) {
    const san = find(X509_OID.SUBJECT_ALT_NAME);
    const names = san ? subjectAltOtherNames(san.value) : [];
    if (req.pcieSan) {
      const cma = names.filter((n) => n.oid === PCISIG_CMA_OID);
      if (!cma.length)
        return fail('missing-extension', 'leaf has no PCI-SIG CMA otherName (2.23.147)', index);
      if (typeof req.pcieSan === 'string' && !cma.some((n) => n.value === req.pcieSan)) {
        return fail(
          'missing-extension',
          `leaf CMA name ${cma.map((n) => n.value).join(', ')} is not ${req.pcieSan}`,
          index,
        );
      }
    }
    if (req.deviceInfoSan && !names.some((n) => n.oid === DMTF_OID.DEVICE_INFO)) {
      return fail('missing-extension', 'leaf has no DMTF device-info otherName', index);
    }
  }
  if (req.hardwareIdentity) {
    const spdm = find(DMTF_OID.SPDM_EXTENSION);
    const ids = spdm
      ? children(readTlv(spdm.value).value).map((s) => decodeOid(children(s.value)[0].value))
      : [];
    if (!ids.includes(DMTF_OID.HARDWARE_IDENTITY))
      return fail('missing-extension', 'leaf is not marked hardware identity', index);
  }
  return undefined;
}

/** Whether certificate `c` was issued and signed by `issuer`, by their DER (the latest kept). */
const ISSUED = new KeptResults<boolean>(1024);

/** The certificate checks kept, as plain data, for another thread to take (`keepIssued`). */
export function keptIssued(): [string, boolean][] {
  return ISSUED.entries();
}

export function keepIssued(entries: readonly [string, boolean][]): void {
  ISSUED.keep(entries);
}

/**
 * Whether `c` names `issuer` as its issuer and its signature verifies under issuer's key. A
 * function of the two certificates: a chain checked again (each connect, each attestation)
 * is not verified again.
 */
function signedBy(
  c: X509Certificate,
  der: Uint8Array,
  issuer: X509Certificate,
  issuerDer: Uint8Array,
): boolean {
  const key = keptKey('issued', der, issuerDer);
  let ok = ISSUED.get(key);
  if (ok === undefined) {
    ok = c.checkIssued(issuer) && c.verify(issuer.publicKey);
    ISSUED.set(key, ok);
  }
  return ok;
}

/**
 * Verifies DER certificates (root or a certificate signed by a trust anchor first, leaf last)
 * without an SPDM header. `rootHash`, when given, must be the hash of the trusted root.
 */
export function verifyCertificates(
  certificates: Uint8Array[],
  o: CertVerifyOptions,
  rootHash?: Uint8Array,
): CertVerifyResult {
  if (!certificates.length) return fail('malformed', 'no certificates', -1);
  const parsed: X509Certificate[] = [];
  for (const [i, der] of certificates.entries()) {
    try {
      parsed.push(parseCertificate(der));
      certificateExtensions(der);
    } catch (e) {
      return fail('malformed', `certificate does not parse: ${(e as Error).message}`, i);
    }
  }
  const anchors: { der: Uint8Array; cert: X509Certificate }[] = [];
  for (const der of o.trustAnchors) {
    try {
      anchors.push({ der, cert: parseCertificate(der) });
    } catch {
      // an unusable anchor trusts nothing
    }
  }
  const first = parsed[0];
  const anchor =
    anchors.find((a) => bytesEqual(a.der, certificates[0])) ??
    anchors.find((a) => first.checkIssued(a.cert) && first.verify(a.cert.publicKey));
  if (!anchor)
    return fail('wrong-root', `${first.subject} is not a trust anchor nor signed by one`, 0);
  if (rootHash && !bytesEqual(rootHash, digest(o.hash, anchor.der))) {
    return fail('bad-root-hash', 'RootHash is not the hash of the trusted root certificate', 0);
  }
  const at = (o.at ?? new Date()).getTime();
  let validFrom = Number.NEGATIVE_INFINITY;
  let validTo = Number.POSITIVE_INFINITY;
  for (const [i, c] of parsed.entries()) {
    if (i > 0 && !signedBy(c, certificates[i], parsed[i - 1], certificates[i - 1])) {
      return fail('bad-signature', `${c.subject} is not signed by ${parsed[i - 1].subject}`, i);
    }
    const from = Date.parse(c.validFrom);
    const to = Date.parse(c.validTo);
    if (at < from) return fail('not-yet-valid', `${c.subject} valid from ${c.validFrom}`, i);
    if (at > to) return fail('expired', `${c.subject} expired ${c.validTo}`, i);
    validFrom = Math.max(validFrom, from);
    validTo = Math.min(validTo, to);
    if (i < parsed.length - 1 && !c.ca) {
      return fail(
        'missing-extension',
        `${c.subject} issues certificates without basicConstraints CA`,
        i,
      );
    }
  }
  const last = parsed.length - 1;
  const leaf = parsed[last];
  if (o.asym && !keyMatchesAsym(leaf.publicKey, o.asym)) {
    return fail(
      'wrong-key-type',
      `leaf ${leaf.publicKey.asymmetricKeyType} key does not fit ${o.asym}`,
      last,
    );
  }
  try {
    const bad =
      (o.role && checkLeafRole(certificates[last], o.role, last)) ||
      (o.require && checkLeaf(certificates[last], o.require, last));
    if (bad) return bad;
  } catch (e) {
    return fail('malformed', `leaf extension does not parse: ${(e as Error).message}`, last);
  }
  return { ok: true, leaf, leafPublicKey: leaf.publicKey, certificates, validFrom, validTo };
}

/**
 * Chains that verified, by the options but the time and the chain buffer (the latest kept,
 * in this thread: a verdict holds node objects). A verdict is a function of them but for
 * validity, which the kept verdict's validFrom/validTo answer for any time.
 */
const CHAINS = new KeptResults<Extract<CertVerifyResult, { ok: true }>>(256, (r) => ({
  ...r,
  certificates: r.certificates.map((c) => c.slice()),
}));

/** Verifies an SPDM certificate chain buffer (header, RootHash, DER certificates). */
export function verifyCertChain(chainBuffer: Uint8Array, o: CertVerifyOptions): CertVerifyResult {
  const { at, ...rest } = o;
  const when = (at ?? new Date()).getTime();
  const key = keptKey(
    JSON.stringify({ ...rest, trustAnchors: undefined }),
    chainBuffer,
    ...o.trustAnchors,
  );
  const had = CHAINS.get(key);
  if (had && had.validFrom <= when && when <= had.validTo) return had;
  const r = verifyCertChainFresh(chainBuffer, { ...o, at: new Date(when) });
  if (r.ok) CHAINS.set(key, r);
  return r;
}

function verifyCertChainFresh(chainBuffer: Uint8Array, o: CertVerifyOptions): CertVerifyResult {
  let decoded: ReturnType<typeof decodeCertChain>;
  try {
    decoded = decodeCertChain(chainBuffer, hashSize(o.hash));
  } catch (e) {
    return fail('malformed', (e as Error).message, -1);
  }
  return verifyCertificates(decoded.certificates, o, decoded.rootHash);
}
