/**
 * Loading identities from files: certificate chains as DER bundles (libspdm's
 * bundle_responder.certchain.der: DER certificates concatenated root first), single DER
 * certificates or PEM; private keys as PEM (PKCS#8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY",
 * PKCS#1 "RSA PRIVATE KEY" — libspdm's sample *.key files are PKCS#8 PEM with CRLF) or DER.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isWireError } from '../wire/errors.ts';
import { splitDerCertificates } from '../wire/spdm/cert-chain.ts';
import { CryptoError } from './errors.ts';

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

function isPem(data: Uint8Array): boolean {
  return Buffer.from(data.subarray(0, 200)).toString('latin1').includes('-----BEGIN ');
}

/**
 * DER certificates (in file order) from PEM text or DER bytes (one or concatenated).
 * @throws CryptoError('malformed') when nothing parses as certificates.
 */
export function parseCertificates(data: Uint8Array): Uint8Array[] {
  if (isPem(data)) {
    const text = Buffer.from(data).toString('latin1');
    const out = [...text.matchAll(PEM_CERT)].map(
      (m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')),
    );
    if (!out.length) throw new CryptoError('malformed', 'PEM without a CERTIFICATE block');
    return out;
  }
  try {
    const out = splitDerCertificates(data);
    if (!out.length) throw new CryptoError('malformed', 'empty certificate file');
    return out;
  } catch (e) {
    if (isWireError(e)) throw new CryptoError('malformed', `DER certificates: ${e.message}`);
    throw e;
  }
}

/** parseCertificates of a file. @throws CryptoError('malformed'); node's fs errors. */
export function loadCertificates(path: string): Uint8Array[] {
  return parseCertificates(new Uint8Array(readFileSync(path)));
}

/**
 * A private key from PEM (any of PKCS#8, SEC1, PKCS#1; encrypted with `passphrase`) or DER
 * (tried as PKCS#8, then SEC1, then PKCS#1).
 * @throws CryptoError('malformed') when no format fits.
 */
export function parsePrivateKey(data: Uint8Array, passphrase?: string): KeyObject {
  const buf = Buffer.from(data);
  if (isPem(data)) {
    try {
      return createPrivateKey({ key: buf.toString('latin1'), format: 'pem', passphrase });
    } catch (e) {
      throw new CryptoError('malformed', `PEM private key: ${(e as Error).message}`);
    }
  }
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: buf, format: 'der', type, passphrase });
    } catch {
      // try the next container
    }
  }
  throw new CryptoError('malformed', 'DER private key is neither PKCS#8, SEC1 nor PKCS#1');
}

/** parsePrivateKey of a file. @throws CryptoError('malformed'); node's fs errors. */
export function loadPrivateKey(path: string, passphrase?: string): KeyObject {
  return parsePrivateKey(new Uint8Array(readFileSync(path)), passphrase);
}
