/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.7 "GET_CERTIFICATE request and CERTIFICATE response".
 *
 * GET_CERTIFICATE: Param1 bits 3:0 SlotID (7:4 reserved), Param2 request attributes (1.3:
 * bit 0 SlotSizeRequested), [4-5] Offset, [6-7] Length.
 * CERTIFICATE: Param1 bits 3:0 SlotID, Param2 response attributes (1.3: bits 2:0
 * CertificateInfo / CertModel), [4-5] PortionLength, [6-7] RemainderLength, then
 * PortionLength bytes of the certificate chain buffer (see cert-chain.ts).
 * Param2 is reserved before 1.3; it keeps its 1.3 name and round-trips as it is.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import { SPDM_CERTIFICATE, SPDM_GET_CERTIFICATE } from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields } from './messages.ts';
import {
  assertLayoutVersion,
  checkLayoutVersion,
  readHeader,
  reservedValue,
  writeHeader,
} from './version.ts';

const SLOT_MASK = 0x0f;

/** GET_CERTIFICATE. */
export interface GetCertificate extends SpdmHeaderFields {
  code: typeof SPDM_GET_CERTIFICATE;
  /** Param1 bits 3:0. */
  slotId: number;
  /** Param1 bits 7:4, in place (undefined when zero). */
  reserved1?: number;
  /** Param2: 1.3 request attributes (bit 0 SlotSizeRequested); reserved before. */
  requestAttributes: number;
  offset: number;
  length: number;
}

/** CERTIFICATE. PortionLength is certChain.length. */
export interface Certificate extends SpdmHeaderFields {
  code: typeof SPDM_CERTIFICATE;
  /** Param1 bits 3:0. */
  slotId: number;
  /** Param1 bits 7:4, in place (undefined when zero). */
  reserved1?: number;
  /** Param2: 1.3 response attributes (bits 2:0 CertModel); reserved before. */
  responseAttributes: number;
  remainderLength: number;
  /** This portion of the certificate chain buffer. */
  certChain: Uint8Array;
}

/** Param1 from a slot id and the reserved high bits. @throws RangeError if they overlap. */
function slotParam(slotId: number, reserved: number | undefined, name: string): number {
  const hi = reserved ?? 0;
  if (!Number.isInteger(slotId) || slotId < 0 || slotId > SLOT_MASK) {
    throw new RangeError(`${name}: slotId ${slotId} does not fit in 4 bits`);
  }
  if ((hi & SLOT_MASK) !== 0 || hi > 0xff || hi < 0) {
    throw new RangeError(`${name}: reserved1 0x${hi.toString(16)} is not within bits 7:4`);
  }
  return hi | slotId;
}

export const getCertificateCodec: SpdmFamilyCodec<GetCertificate> = {
  name: 'GET_CERTIFICATE',
  encode(w: Writer, m: GetCertificate): void {
    assertLayoutVersion(m.version, m.code);
    const p1 = slotParam(m.slotId, m.reserved1, 'GET_CERTIFICATE');
    writeHeader(w, m.version, m.code, p1, m.requestAttributes);
    w.u16(m.offset, 'Offset').u16(m.length, 'Length');
  },
  decode(r: Reader, _ctx: SpdmCodecContext): GetCertificate {
    const h = readHeader(r, SPDM_GET_CERTIFICATE);
    checkLayoutVersion(r, h.version);
    const offset = r.u16('Offset');
    const length = r.u16('Length');
    return {
      version: h.version,
      code: SPDM_GET_CERTIFICATE,
      slotId: h.param1 & SLOT_MASK,
      reserved1: reservedValue(h.param1 & ~SLOT_MASK & 0xff),
      requestAttributes: h.param2,
      offset,
      length,
    };
  },
};

export const certificateCodec: SpdmFamilyCodec<Certificate> = {
  name: 'CERTIFICATE',
  encode(w: Writer, m: Certificate): void {
    assertLayoutVersion(m.version, m.code);
    const p1 = slotParam(m.slotId, m.reserved1, 'CERTIFICATE');
    writeHeader(w, m.version, m.code, p1, m.responseAttributes);
    w.u16(m.certChain.length, 'PortionLength')
      .u16(m.remainderLength, 'RemainderLength')
      .bytes(m.certChain);
  },
  decode(r: Reader, _ctx: SpdmCodecContext): Certificate {
    const h = readHeader(r, SPDM_CERTIFICATE);
    checkLayoutVersion(r, h.version);
    const portionLength = r.u16('PortionLength');
    const remainderLength = r.u16('RemainderLength');
    const certChain = r.bytes(portionLength, 'CertChain');
    return {
      version: h.version,
      code: SPDM_CERTIFICATE,
      slotId: h.param1 & SLOT_MASK,
      reserved1: reservedValue(h.param1 & ~SLOT_MASK & 0xff),
      responseAttributes: h.param2,
      remainderLength,
      certChain,
    };
  },
};
