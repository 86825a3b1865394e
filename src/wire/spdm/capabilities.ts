/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.4 "GET_CAPABILITIES request and CAPABILITIES response".
 *
 * Layout by the header version (libspdm spdm_get_capabilities_request_t):
 * - GET_CAPABILITIES: 4 bytes in 1.0; 12 in 1.1 ([4] reserved, [5] CTExponent, [6-7]
 *   reserved, [8-11] Flags); 20 from 1.2 (+ DataTransferSize, MaxSPDMmsgSize).
 * - CAPABILITIES: 12 bytes in 1.0 and 1.1 (CTExponent and Flags exist since 1.0), 20 from 1.2.
 * - 1.3: GET_CAPABILITIES Param1 bit 0 asks for the Supported Algorithms block, which the
 *   responder appends after MaxSPDMmsgSize. teeio keeps that block raw (`supportedAlgorithms`);
 *   libspdm does not build it either.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import {
  SPDM_CAP,
  SPDM_CAPABILITIES,
  SPDM_GET_CAPABILITIES,
  SPDM_GET_CAPABILITIES_PARAM1_SUPPORTED_ALGORITHMS,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
  SPDM_VERSION_13,
  type SpdmCapName,
} from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields } from './messages.ts';
import {
  assertLayoutVersion,
  checkLayoutVersion,
  readHeader,
  reservedValue,
  writeHeader,
} from './version.ts';

/** Fields shared by the request and the response. */
interface CapabilitiesFields extends SpdmHeaderFields {
  /** Param1: 1.3 bit 0 = Supported Algorithms (request) / block present; reserved before. */
  param1: number;
  reserved2?: number;
  /** Byte 4 (1.1+ in the request). */
  reservedAt4?: number;
  /** Bytes 6-7 (extended flags in 1.4; reserved up to 1.3). */
  reservedAt6?: number;
  /** 1.2+: DataTransferSize. */
  dataTransferSize?: number;
  /** 1.2+: MaxSPDMmsgSize. */
  maxSpdmMsgSize?: number;
}

/** GET_CAPABILITIES. CTExponent and Flags are present from 1.1, the sizes from 1.2. */
export interface GetCapabilities extends CapabilitiesFields {
  code: typeof SPDM_GET_CAPABILITIES;
  ctExponent?: number;
  flags?: number;
}

/** CAPABILITIES. CTExponent and Flags in every version, the sizes from 1.2. */
export interface Capabilities extends CapabilitiesFields {
  code: typeof SPDM_CAPABILITIES;
  ctExponent: number;
  flags: number;
  /** 1.3+: the Supported Algorithms block, kept raw; undefined when absent. */
  supportedAlgorithms?: Uint8Array;
}

/** Names of the set SPDM_CAP bits, lowest bit first (every u32 bit has a name). */
export function capFlagsToNames(flags: number): SpdmCapName[] {
  const out: SpdmCapName[] = [];
  for (const [name, bit] of Object.entries(SPDM_CAP) as [SpdmCapName, number][]) {
    if ((flags & bit) >>> 0 !== 0) out.push(name);
  }
  return out;
}

/** The Flags value with the named bits set. */
export function capNamesToFlags(names: Iterable<SpdmCapName>): number {
  let flags = 0;
  for (const n of names) flags = (flags | SPDM_CAP[n]) >>> 0;
  return flags;
}

function present(field: string, v: number | undefined, needed: boolean, code: string): void {
  if (needed && v === undefined) throw new RangeError(`${code}: ${field} is required`);
  if (!needed && v !== undefined) throw new RangeError(`${code}: ${field} does not exist`);
}

function encodeBody(
  w: Writer,
  m: GetCapabilities | Capabilities,
  hasFlags: boolean,
  name: string,
): void {
  const v12 = m.version >= SPDM_VERSION_12;
  present('ctExponent', m.ctExponent, hasFlags, name);
  present('flags', m.flags, hasFlags, name);
  present('dataTransferSize', m.dataTransferSize, v12, name);
  present('maxSpdmMsgSize', m.maxSpdmMsgSize, v12, name);
  if (!hasFlags && (m.reservedAt4 !== undefined || m.reservedAt6 !== undefined)) {
    throw new RangeError(`${name}: SPDM 1.0 requests have no bytes after the header`);
  }
  writeHeader(w, m.version, m.code, m.param1, m.reserved2 ?? 0);
  if (hasFlags) {
    w.u8(m.reservedAt4 ?? 0, 'Reserved')
      .u8(m.ctExponent ?? 0, 'CTExponent')
      .u16(m.reservedAt6 ?? 0, 'Reserved')
      .u32(m.flags ?? 0, 'Flags');
  }
  if (v12) {
    w.u32(m.dataTransferSize ?? 0, 'DataTransferSize').u32(m.maxSpdmMsgSize ?? 0, 'MaxSPDMmsgSize');
  }
}

function decodeBody(r: Reader, version: number, hasFlags: boolean) {
  const body: {
    reservedAt4?: number;
    ctExponent?: number;
    reservedAt6?: number;
    flags?: number;
    dataTransferSize?: number;
    maxSpdmMsgSize?: number;
  } = {};
  if (hasFlags) {
    body.reservedAt4 = r.reservedU8('Reserved');
    body.ctExponent = r.u8('CTExponent');
    body.reservedAt6 = r.reservedU16('Reserved');
    body.flags = r.u32('Flags');
  }
  if (version >= SPDM_VERSION_12) {
    body.dataTransferSize = r.u32('DataTransferSize');
    body.maxSpdmMsgSize = r.u32('MaxSPDMmsgSize');
  }
  return body;
}

export const getCapabilitiesCodec: SpdmFamilyCodec<GetCapabilities> = {
  name: 'GET_CAPABILITIES',
  encode(w: Writer, m: GetCapabilities): void {
    assertLayoutVersion(m.version, m.code);
    encodeBody(w, m, m.version >= SPDM_VERSION_11, 'GET_CAPABILITIES');
  },
  decode(r: Reader, _ctx: SpdmCodecContext): GetCapabilities {
    const h = readHeader(r, SPDM_GET_CAPABILITIES);
    checkLayoutVersion(r, h.version);
    const body = decodeBody(r, h.version, h.version >= SPDM_VERSION_11);
    return {
      version: h.version,
      code: SPDM_GET_CAPABILITIES,
      param1: h.param1,
      reserved2: reservedValue(h.param2),
      ...body,
    };
  },
};

export const capabilitiesCodec: SpdmFamilyCodec<Capabilities> = {
  name: 'CAPABILITIES',
  encode(w: Writer, m: Capabilities): void {
    assertLayoutVersion(m.version, m.code);
    if (m.supportedAlgorithms !== undefined && m.version < SPDM_VERSION_13) {
      throw new RangeError('CAPABILITIES: the Supported Algorithms block exists from SPDM 1.3');
    }
    encodeBody(w, m, true, 'CAPABILITIES');
    if (m.supportedAlgorithms) w.bytes(m.supportedAlgorithms);
  },
  decode(r: Reader, ctx: SpdmCodecContext): Capabilities {
    const h = readHeader(r, SPDM_CAPABILITIES);
    checkLayoutVersion(r, h.version);
    const body = decodeBody(r, h.version, true);
    // The block is only there when asked for; without the request at hand, take what is left.
    const req = ctx.request;
    const asked =
      req?.code !== SPDM_GET_CAPABILITIES ||
      (req.param1 & SPDM_GET_CAPABILITIES_PARAM1_SUPPORTED_ALGORITHMS) !== 0;
    const supportedAlgorithms =
      h.version >= SPDM_VERSION_13 && asked && r.remaining > 0
        ? r.rest('SupportedAlgorithms')
        : undefined;
    return {
      version: h.version,
      code: SPDM_CAPABILITIES,
      param1: h.param1,
      reserved2: reservedValue(h.param2),
      ...body,
      ctExponent: body.ctExponent ?? 0,
      flags: body.flags ?? 0,
      supportedAlgorithms,
    };
  },
};
