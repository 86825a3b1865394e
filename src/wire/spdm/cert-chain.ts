/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.7.1 "Certificate chain format": the buffer a
 * responder serves through CERTIFICATE portions.
 *
 * | bytes | field |
 * |---|---|
 * | 0-1 | Length u16: the whole buffer, header included |
 * | 2-3 | Reserved |
 * | 4.. | RootHash[H]: digest of the root certificate |
 * | .. | Certificates: ASN.1 DER X.509 certificates, root first, leaf last |
 *
 * The certificates are split by their outer DER SEQUENCE lengths only; what is inside
 * each certificate is crypto/'s business. Hash(Cert) in transcripts covers the whole buffer.
 */
import { WireError } from '../errors.ts';
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';

/** A decoded certificate chain buffer. Length is computed on encode. */
export interface CertChain {
  /** Bytes 2-3 (undefined when zero). */
  reserved?: number;
  rootHash: Uint8Array;
  /** Each element is one whole DER certificate (tag, length, contents). */
  certificates: Uint8Array[];
}

const DER_SEQUENCE = 0x30;

function chainError(field: string, at: number, kind: WireError['kind'], detail: string) {
  return new WireError('SPDM', 'CertChain', field, at, kind, detail);
}

/**
 * Splits concatenated DER certificates by their outer SEQUENCE lengths. Offsets in errors
 * are `base` + the position in `der`.
 * @throws WireError truncated (a certificate runs past the end) or bad-field (not a
 * SEQUENCE, indefinite or over-long length).
 */
export function splitDerCertificates(der: Uint8Array, base = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < der.length) {
    const start = pos;
    if (der[pos] !== DER_SEQUENCE) {
      throw chainError('Certificates', base + pos, 'bad-field', 'certificate is not a SEQUENCE');
    }
    pos++;
    if (pos >= der.length) throw chainError('Certificates', base + pos, 'truncated', 'no length');
    const first = der[pos++];
    let len = first;
    if (first & 0x80) {
      const n = first & 0x7f;
      if (n === 0 || n > 4) {
        throw chainError('Certificates', base + pos - 1, 'bad-field', `length of length ${n}`);
      }
      if (pos + n > der.length) {
        throw chainError('Certificates', base + pos, 'truncated', 'length runs past the end');
      }
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[pos++];
    }
    if (len > der.length - pos) {
      throw chainError(
        'Certificates',
        base + start,
        'truncated',
        `certificate of ${len} bytes, ${der.length - pos} left`,
      );
    }
    pos += len;
    out.push(der.slice(start, pos));
  }
  return out;
}

/**
 * Decodes a whole certificate chain buffer.
 * @throws WireError on a short buffer, a Length that is not the buffer size, or
 * certificates that do not split (see splitDerCertificates).
 */
export function decodeCertChain(bytes: Uint8Array, hashSize: number): CertChain {
  const r = new Reader(bytes, 'SPDM', 'CertChain');
  const length = r.u16('Length');
  if (length !== bytes.length) {
    throw r.error('Length', 'bad-field', `says ${length}, buffer is ${bytes.length} bytes`, 0);
  }
  const reserved = r.reservedU16('Reserved');
  const rootHash = r.bytes(hashSize, 'RootHash');
  const at = r.offset;
  const certificates = splitDerCertificates(r.rest('Certificates'), at);
  return { reserved, rootHash, certificates };
}

/** Encodes a certificate chain buffer. @throws RangeError when it exceeds 65535 bytes. */
export function encodeCertChain(c: CertChain): Uint8Array {
  let n = 4 + c.rootHash.length;
  for (const cert of c.certificates) n += cert.length;
  if (n > 0xffff) throw new RangeError(`certificate chain of ${n} bytes exceeds 65535`);
  const w = new Writer(n);
  w.u16(n, 'Length')
    .u16(c.reserved ?? 0, 'Reserved')
    .bytes(c.rootHash);
  for (const cert of c.certificates) w.bytes(cert);
  return w.finish();
}
