/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.3 "GET_VERSION request and VERSION response messages".
 *
 * GET_VERSION is always sent with SPDMVersion 0x10, whatever the peers end up using; the
 * VERSION response lists u16 version entries (15:12 major, 11:8 minor, 7:4 update,
 * 3:0 alpha). Neither layout depends on the header version, so any version byte decodes
 * (a responder still has to see a wrong one to answer it with VersionMismatch).
 *
 * Also home of the version helpers the other family files share: which SPDMVersion bytes
 * have a layout teeio knows (1.0..1.3), and the entry <-> byte conversions.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import {
  SPDM_GET_VERSION,
  SPDM_VERSION,
  SPDM_VERSION_10,
  SPDM_VERSION_13,
  spdmCodeName,
} from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields } from './messages.ts';

/** GET_VERSION: header only; Param1/Param2 reserved. */
export interface GetVersion extends SpdmHeaderFields {
  code: typeof SPDM_GET_VERSION;
  reserved1?: number;
  reserved2?: number;
}

/** One VersionNumberEntry, nibble by nibble. */
export interface VersionEntry {
  major: number;
  minor: number;
  update: number;
  alpha: number;
}

/** VERSION: [4] reserved, [5] VersionNumberEntryCount, u16 entries. */
export interface Version extends SpdmHeaderFields {
  code: typeof SPDM_VERSION;
  reserved1?: number;
  reserved2?: number;
  /** Byte 4. */
  reservedAt4?: number;
  entries: VersionEntry[];
}

/** The u16 wire form of an entry. @throws RangeError when a nibble is out of range. */
export function versionEntryToU16(e: VersionEntry): number {
  for (const k of ['major', 'minor', 'update', 'alpha'] as const) {
    const v = e[k];
    if (!Number.isInteger(v) || v < 0 || v > 15) {
      throw new RangeError(`VersionNumberEntry.${k}: ${v} does not fit in 4 bits`);
    }
  }
  return (e.major << 12) | (e.minor << 8) | (e.update << 4) | e.alpha;
}

/** The entry of a u16 wire value (every u16 is a valid entry). */
export function versionEntryFromU16(v: number): VersionEntry {
  return {
    major: (v >>> 12) & 0xf,
    minor: (v >>> 8) & 0xf,
    update: (v >>> 4) & 0xf,
    alpha: v & 0xf,
  };
}

/** The SPDMVersion header byte an entry stands for (major << 4 | minor, e.g. 0x13). */
export function versionEntryToByte(e: VersionEntry): number {
  return ((e.major & 0xf) << 4) | (e.minor & 0xf);
}

/** "1.3", or "1.2.1" when the update number is set (alpha is not shown). */
export function formatVersionEntry(e: VersionEntry): string {
  return e.update ? `${e.major}.${e.minor}.${e.update}` : `${e.major}.${e.minor}`;
}

/** "1.3" for the SPDMVersion byte 0x13. */
export function formatVersionByte(v: number): string {
  return `${v >>> 4}.${v & 0xf}`;
}

/** True for the SPDMVersion bytes whose message layouts teeio knows (0x10..0x13). */
export function isKnownLayoutVersion(v: number): boolean {
  return v >= SPDM_VERSION_10 && v <= SPDM_VERSION_13;
}

/**
 * Decoder guard for families whose layout depends on the version: 1.0..1.3 only.
 * @throws WireError bad-field on SPDMVersion otherwise.
 */
export function checkLayoutVersion(r: Reader, version: number): number {
  if (!isKnownLayoutVersion(version)) {
    throw r.error(
      'SPDMVersion',
      'bad-field',
      `no ${r.msg} layout for SPDMVersion 0x${version.toString(16)}`,
      0,
    );
  }
  return version;
}

/** The 4-byte header as a family decoder reads it. */
export interface HeaderBytes {
  version: number;
  param1: number;
  param2: number;
}

/**
 * Reads the 4-byte header of a message whose code the caller already knows.
 * @throws WireError truncated, or bad-field when RequestResponseCode is not `code`.
 */
export function readHeader(r: Reader, code: number): HeaderBytes {
  const version = r.u8('SPDMVersion');
  const got = r.u8('RequestResponseCode');
  if (got !== code) {
    throw r.error('RequestResponseCode', 'bad-field', `0x${got.toString(16)} is not ${r.msg}`, 1);
  }
  return { version, param1: r.u8('Param1'), param2: r.u8('Param2') };
}

/** Writes the 4-byte header. @throws RangeError when a byte does not fit. */
export function writeHeader(
  w: Writer,
  version: number,
  code: number,
  param1: number,
  param2: number,
): void {
  w.u8(version, 'SPDMVersion')
    .u8(code, 'RequestResponseCode')
    .u8(param1, 'Param1')
    .u8(param2, 'Param2');
}

/** A reserved u8 (or the reserved bits of a param byte) as kept in messages: undefined when zero. */
export function reservedValue(v: number): number | undefined {
  return v === 0 ? undefined : v;
}

/** Encoder guard matching checkLayoutVersion. @throws RangeError outside 0x10..0x13. */
export function assertLayoutVersion(version: number, code: number): void {
  if (!isKnownLayoutVersion(version)) {
    throw new RangeError(
      `${spdmCodeName(code)}: no layout for SPDMVersion ${String(version)} (teeio knows 0x10..0x13)`,
    );
  }
}

export const getVersionCodec: SpdmFamilyCodec<GetVersion> = {
  name: 'GET_VERSION',
  encode(w: Writer, m: GetVersion): void {
    writeHeader(w, m.version, SPDM_GET_VERSION, m.reserved1 ?? 0, m.reserved2 ?? 0);
  },
  decode(r: Reader, _ctx: SpdmCodecContext): GetVersion {
    const h = readHeader(r, SPDM_GET_VERSION);
    return {
      version: h.version,
      code: SPDM_GET_VERSION,
      reserved1: reservedValue(h.param1),
      reserved2: reservedValue(h.param2),
    };
  },
};

export const versionCodec: SpdmFamilyCodec<Version> = {
  name: 'VERSION',
  encode(w: Writer, m: Version): void {
    if (m.entries.length > 0xff) {
      throw new RangeError(`VERSION: ${m.entries.length} entries do not fit the u8 count`);
    }
    writeHeader(w, m.version, SPDM_VERSION, m.reserved1 ?? 0, m.reserved2 ?? 0);
    w.u8(m.reservedAt4 ?? 0, 'Reserved').u8(m.entries.length, 'VersionNumberEntryCount');
    for (const e of m.entries) w.u16(versionEntryToU16(e), 'VersionNumberEntry');
  },
  decode(r: Reader, _ctx: SpdmCodecContext): Version {
    const h = readHeader(r, SPDM_VERSION);
    const reservedAt4 = r.reservedU8('Reserved');
    const count = r.u8('VersionNumberEntryCount');
    const entries: VersionEntry[] = [];
    for (let i = 0; i < count; i++) entries.push(versionEntryFromU16(r.u16('VersionNumberEntry')));
    return {
      version: h.version,
      code: SPDM_VERSION,
      reserved1: reservedValue(h.param1),
      reserved2: reservedValue(h.param2),
      reservedAt4,
      entries,
    };
  },
};
