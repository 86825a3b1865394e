/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.5 "NEGOTIATE_ALGORITHMS request and ALGORITHMS response".
 *
 * Fixed part (libspdm spdm_negotiate_algorithms_request_t / spdm_algorithms_response_t):
 * - NEGOTIATE_ALGORITHMS (32 bytes): [4-5] Length, [6] MeasurementSpecification,
 *   [7] OtherParamsSupport (1.2+), [8-11] BaseAsymAlgo, [12-15] BaseHashAlgo, [16-27]
 *   reserved, [28] ExtAsymCount, [29] ExtHashCount, [30] reserved, [31] MELspecification (1.3).
 * - ALGORITHMS (36 bytes): [4-5] Length, [6] MeasurementSpecificationSel, [7]
 *   OtherParamsSelection, [8-11] MeasurementHashAlgo, [12-15] BaseAsymSel, [16-19]
 *   BaseHashSel, [20-30] reserved, [31] MELspecificationSel, [32] ExtAsymSelCount,
 *   [33] ExtHashSelCount, [34-35] reserved.
 * Then the extended algorithm entries (4 bytes each, kept raw) and, from 1.1, Param1
 * algorithm structure tables (AlgType, AlgCount = fixed byte count << 4 | ext count,
 * AlgSupported u16, ext entries). SPDM 1.0 has no tables and Param1 is reserved.
 * Length is the message's length: the fields must end there (over PCI DOE, padding follows).
 *
 * Bytes that later versions gave a meaning (OtherParams before 1.2, MELspecification
 * before 1.3) keep their later name in every version and round-trip as they are.
 */
import { WireError } from '../errors.ts';
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import {
  SPDM_AEAD,
  SPDM_ALG_TYPE_AEAD,
  SPDM_ALG_TYPE_DHE,
  SPDM_ALG_TYPE_KEY_SCHEDULE,
  SPDM_ALG_TYPE_REQ_BASE_ASYM,
  SPDM_ALGORITHMS,
  SPDM_ALGORITHMS_MULTI_KEY_CONN,
  SPDM_ASYM,
  SPDM_DHE,
  SPDM_HASH,
  SPDM_MEAS_HASH,
  SPDM_NEGOTIATE_ALGORITHMS,
  SPDM_VERSION_11,
} from './constants.ts';
import type { AlgorithmSizes, SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields } from './messages.ts';
import {
  assertLayoutVersion,
  checkLayoutVersion,
  readHeader,
  reservedValue,
  writeHeader,
} from './version.ts';

/** AlgCount bits 7:4: the size of AlgSupported, 2 bytes in every table SPDM defines. */
const FIXED_ALG_BYTES = 2;
const EXT_ALG_SIZE = 4;

/** One algorithm structure table (ReqAlgStruct / RespAlgStruct). */
export interface AlgStructTable {
  /** AlgType: DHE 2, AEAD 3, ReqBaseAsymAlg 4, KeySchedule 5; unknown values kept. */
  algType: number;
  /** AlgSupported (request) or the selected bit (response). */
  algSupported: number;
  /** AlgExternal entries, 4 bytes each, kept raw; their count is AlgCount bits 3:0. */
  algExternal: Uint8Array[];
}

/** NEGOTIATE_ALGORITHMS. */
export interface NegotiateAlgorithms extends SpdmHeaderFields {
  code: typeof SPDM_NEGOTIATE_ALGORITHMS;
  /** Param1 in SPDM 1.0 only (from 1.1 it is the table count, taken from algStructs). */
  reserved1?: number;
  reserved2?: number;
  measurementSpecification: number;
  /** Bits 3:0 opaque data format support, bit 4 MultiKeyConn (1.3); reserved before 1.2. */
  otherParamsSupport: number;
  baseAsymAlgo: number;
  baseHashAlgo: number;
  /** Bytes 16-27. */
  reservedAt16?: Uint8Array;
  /** Byte 30. */
  reservedAt30?: number;
  /** 1.3 MELspecification; reserved before. */
  melSpecification: number;
  extAsym: Uint8Array[];
  extHash: Uint8Array[];
  /** 1.1+; must be empty in 1.0. */
  algStructs: AlgStructTable[];
}

/** ALGORITHMS. */
export interface Algorithms extends SpdmHeaderFields {
  code: typeof SPDM_ALGORITHMS;
  /** Param1 in SPDM 1.0 only (from 1.1 it is the table count, taken from algStructs). */
  reserved1?: number;
  reserved2?: number;
  measurementSpecificationSel: number;
  /** Bits 3:0 opaque data format selected, bit 4 MultiKeyConn (1.3); reserved before 1.2. */
  otherParamsSelection: number;
  measurementHashAlgo: number;
  baseAsymSel: number;
  baseHashSel: number;
  /** Bytes 20-30. */
  reservedAt20?: Uint8Array;
  /** 1.3 MELspecificationSel; reserved before. */
  melSpecificationSel: number;
  /** Bytes 34-35. */
  reservedAt34?: number;
  extAsymSel: Uint8Array[];
  extHashSel: Uint8Array[];
  /** 1.1+; must be empty in 1.0. */
  algStructs: AlgStructTable[];
}

// --- shared pieces --------------------------------------------------------------------

function checkTables(m: NegotiateAlgorithms | Algorithms, name: string): void {
  if (m.version < SPDM_VERSION_11) {
    if (m.algStructs.length > 0) throw new RangeError(`${name}: SPDM 1.0 has no struct tables`);
  } else {
    if (m.reserved1 !== undefined) {
      throw new RangeError(`${name}: Param1 is the table count from SPDM 1.1`);
    }
    if (m.algStructs.length > 0xff) throw new RangeError(`${name}: too many struct tables`);
  }
}

function writeExt(w: Writer, list: Uint8Array[], field: string): void {
  for (const e of list) w.fixed(e, EXT_ALG_SIZE, field);
}

function writeTables(w: Writer, tables: AlgStructTable[]): void {
  for (const t of tables) {
    if (t.algExternal.length > 0xf) throw new RangeError('AlgStruct: at most 15 AlgExternal');
    w.u8(t.algType, 'AlgType')
      .u8((FIXED_ALG_BYTES << 4) | t.algExternal.length, 'AlgCount')
      .u16(t.algSupported, 'AlgSupported');
    writeExt(w, t.algExternal, 'AlgExternal');
  }
}

function readExt(r: Reader, n: number, field: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.bytes(EXT_ALG_SIZE, field));
  return out;
}

function readTables(r: Reader, n: number): AlgStructTable[] {
  const out: AlgStructTable[] = [];
  for (let i = 0; i < n; i++) {
    const algType = r.u8('AlgType');
    const at = r.offset;
    const algCount = r.u8('AlgCount');
    if (algCount >>> 4 !== FIXED_ALG_BYTES) {
      throw r.error(
        'AlgCount',
        'bad-field',
        `fixed AlgSupported size ${algCount >>> 4}, not 2`,
        at,
      );
    }
    const algSupported = r.u16('AlgSupported');
    out.push({ algType, algSupported, algExternal: readExt(r, algCount & 0xf, 'AlgExternal') });
  }
  return out;
}

/**
 * The header both messages share: Param1 is the table count from 1.1, reserved in 1.0.
 * @throws RangeError on an unknown version or tables that do not fit the version.
 */
function writeAlgHeader(w: Writer, m: NegotiateAlgorithms | Algorithms, name: string): void {
  assertLayoutVersion(m.version, m.code);
  checkTables(m, name);
  const v11 = m.version >= SPDM_VERSION_11;
  writeHeader(
    w,
    m.version,
    m.code,
    v11 ? m.algStructs.length : (m.reserved1 ?? 0),
    m.reserved2 ?? 0,
  );
}

/** ExtAsym, ExtHash entries and the struct tables, the tail of both messages. */
function writeAlgLists(
  w: Writer,
  extAsym: Uint8Array[],
  extHash: Uint8Array[],
  tables: AlgStructTable[],
  asymField: string,
  hashField: string,
): void {
  writeExt(w, extAsym, asymField);
  writeExt(w, extHash, hashField);
  writeTables(w, tables);
}

interface AlgHeader {
  version: number;
  /** Param1 from 1.1 (the table count), undefined before. */
  tableCount?: number;
  /** The Length field and where it sits. */
  length: number;
  lengthAt: number;
  reserved1?: number;
  reserved2?: number;
}

/** Reads the header and checks Length. @throws WireError bad-field on version or Length. */
function readAlgHeader(r: Reader, code: number): AlgHeader {
  const h = readHeader(r, code);
  checkLayoutVersion(r, h.version);
  const lengthAt = r.offset;
  const length = readLength(r);
  const v11 = h.version >= SPDM_VERSION_11;
  return {
    version: h.version,
    tableCount: v11 ? h.param1 : undefined,
    length,
    lengthAt,
    reserved1: v11 ? undefined : reservedValue(h.param1),
    reserved2: reservedValue(h.param2),
  };
}

/** Decoder side of writeAlgLists. @throws WireError truncated or bad AlgCount. */
function readAlgLists(
  r: Reader,
  h: AlgHeader,
  asymCount: number,
  hashCount: number,
  asymField: string,
  hashField: string,
): { extAsym: Uint8Array[]; extHash: Uint8Array[]; algStructs: AlgStructTable[] } {
  const extAsym = readExt(r, asymCount, asymField);
  const extHash = readExt(r, hashCount, hashField);
  const algStructs = h.tableCount === undefined ? [] : readTables(r, h.tableCount);
  if (r.offset !== h.length) {
    const detail = `says ${h.length}, the fields end at ${r.offset}`;
    throw r.error('Length', 'bad-field', detail, h.lengthAt);
  }
  return { extAsym, extHash, algStructs };
}

function readLength(r: Reader): number {
  const at = r.offset;
  const length = r.u16('Length');
  if (length > r.length) {
    throw r.error('Length', 'bad-field', `says ${length}, message is ${r.length} bytes`, at);
  }
  return length;
}

function messageLength(fixed: number, ext: number, tables: AlgStructTable[]): number {
  let n = fixed + EXT_ALG_SIZE * ext;
  for (const t of tables) n += 4 + EXT_ALG_SIZE * t.algExternal.length;
  return n;
}

// --- codecs ---------------------------------------------------------------------------

export const negotiateAlgorithmsCodec: SpdmFamilyCodec<NegotiateAlgorithms> = {
  name: 'NEGOTIATE_ALGORITHMS',
  encode(w: Writer, m: NegotiateAlgorithms): void {
    writeAlgHeader(w, m, 'NEGOTIATE_ALGORITHMS');
    w.u16(messageLength(32, m.extAsym.length + m.extHash.length, m.algStructs), 'Length')
      .u8(m.measurementSpecification, 'MeasurementSpecification')
      .u8(m.otherParamsSupport, 'OtherParamsSupport')
      .u32(m.baseAsymAlgo, 'BaseAsymAlgo')
      .u32(m.baseHashAlgo, 'BaseHashAlgo')
      .fixed(m.reservedAt16 ?? new Uint8Array(12), 12, 'Reserved')
      .u8(m.extAsym.length, 'ExtAsymCount')
      .u8(m.extHash.length, 'ExtHashCount')
      .u8(m.reservedAt30 ?? 0, 'Reserved')
      .u8(m.melSpecification, 'MELspecification');
    writeAlgLists(w, m.extAsym, m.extHash, m.algStructs, 'ExtAsym', 'ExtHash');
  },
  decode(r: Reader, _ctx: SpdmCodecContext): NegotiateAlgorithms {
    const h = readAlgHeader(r, SPDM_NEGOTIATE_ALGORITHMS);
    const measurementSpecification = r.u8('MeasurementSpecification');
    const otherParamsSupport = r.u8('OtherParamsSupport');
    const baseAsymAlgo = r.u32('BaseAsymAlgo');
    const baseHashAlgo = r.u32('BaseHashAlgo');
    const reservedAt16 = r.reservedBytes(12, 'Reserved');
    const extAsymCount = r.u8('ExtAsymCount');
    const extHashCount = r.u8('ExtHashCount');
    const reservedAt30 = r.reservedU8('Reserved');
    const melSpecification = r.u8('MELspecification');
    const lists = readAlgLists(r, h, extAsymCount, extHashCount, 'ExtAsym', 'ExtHash');
    return {
      version: h.version,
      code: SPDM_NEGOTIATE_ALGORITHMS,
      reserved1: h.reserved1,
      reserved2: h.reserved2,
      measurementSpecification,
      otherParamsSupport,
      baseAsymAlgo,
      baseHashAlgo,
      reservedAt16,
      reservedAt30,
      melSpecification,
      extAsym: lists.extAsym,
      extHash: lists.extHash,
      algStructs: lists.algStructs,
    };
  },
};

export const algorithmsCodec: SpdmFamilyCodec<Algorithms> = {
  name: 'ALGORITHMS',
  encode(w: Writer, m: Algorithms): void {
    writeAlgHeader(w, m, 'ALGORITHMS');
    w.u16(messageLength(36, m.extAsymSel.length + m.extHashSel.length, m.algStructs), 'Length')
      .u8(m.measurementSpecificationSel, 'MeasurementSpecificationSel')
      .u8(m.otherParamsSelection, 'OtherParamsSelection')
      .u32(m.measurementHashAlgo, 'MeasurementHashAlgo')
      .u32(m.baseAsymSel, 'BaseAsymSel')
      .u32(m.baseHashSel, 'BaseHashSel')
      .fixed(m.reservedAt20 ?? new Uint8Array(11), 11, 'Reserved')
      .u8(m.melSpecificationSel, 'MELspecificationSel')
      .u8(m.extAsymSel.length, 'ExtAsymSelCount')
      .u8(m.extHashSel.length, 'ExtHashSelCount')
      .u16(m.reservedAt34 ?? 0, 'Reserved');
    writeAlgLists(w, m.extAsymSel, m.extHashSel, m.algStructs, 'ExtAsymSel', 'ExtHashSel');
  },
  decode(r: Reader, _ctx: SpdmCodecContext): Algorithms {
    const h = readAlgHeader(r, SPDM_ALGORITHMS);
    const measurementSpecificationSel = r.u8('MeasurementSpecificationSel');
    const otherParamsSelection = r.u8('OtherParamsSelection');
    const measurementHashAlgo = r.u32('MeasurementHashAlgo');
    const baseAsymSel = r.u32('BaseAsymSel');
    const baseHashSel = r.u32('BaseHashSel');
    const reservedAt20 = r.reservedBytes(11, 'Reserved');
    const melSpecificationSel = r.u8('MELspecificationSel');
    const extAsymCount = r.u8('ExtAsymSelCount');
    const extHashCount = r.u8('ExtHashSelCount');
    const reservedAt34 = r.reservedU16('Reserved');
    const lists = readAlgLists(r, h, extAsymCount, extHashCount, 'ExtAsymSel', 'ExtHashSel');
    return {
      version: h.version,
      code: SPDM_ALGORITHMS,
      reserved1: h.reserved1,
      reserved2: h.reserved2,
      measurementSpecificationSel,
      otherParamsSelection,
      measurementHashAlgo,
      baseAsymSel,
      baseHashSel,
      reservedAt20,
      melSpecificationSel,
      reservedAt34,
      extAsymSel: lists.extAsym,
      extHashSel: lists.extHash,
      algStructs: lists.algStructs,
    };
  },
};

// --- what was selected ----------------------------------------------------------------

const MEAS_SPEC = { DMTF: 0x1 } as const;
const OPAQUE_FORMAT = { OPAQUE_DATA_FMT_0: 0x1, OPAQUE_DATA_FMT_1: 0x2 } as const;
const KEY_SCHEDULE = { SPDM: 0x1 } as const;
const MEL_SPEC = { DMTF: 0x1 } as const;

/**
 * The algorithms an ALGORITHMS response selected, by their constant names (SPDM_ASYM,
 * SPDM_HASH, ... keys). A field is undefined when nothing is selected; a value that is not
 * exactly one known bit reads "UNKNOWN(0x...)".
 */
export interface SelectedAlgorithms {
  measurementSpecification?: string;
  opaqueDataFormat?: string;
  /** OtherParamsSelection bit 4 (1.3). */
  multiKeyConn: boolean;
  measurementHash?: string;
  baseAsym?: string;
  baseHash?: string;
  melSpecification?: string;
  dhe?: string;
  aead?: string;
  reqBaseAsym?: string;
  keySchedule?: string;
}

/** The name of a single-bit selection in `table`, undefined for 0, UNKNOWN(...) otherwise. */
export function algorithmName(
  table: Readonly<Record<string, number>>,
  value: number,
): string | undefined {
  if (value === 0) return undefined;
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return `UNKNOWN(0x${value.toString(16)})`;
}

function tableValue(m: Algorithms, algType: number): number {
  return m.algStructs.find((t) => t.algType === algType)?.algSupported ?? 0;
}

/** Names of what an ALGORITHMS message selected. */
export function selectedAlgorithms(m: Algorithms): SelectedAlgorithms {
  return {
    measurementSpecification: algorithmName(MEAS_SPEC, m.measurementSpecificationSel),
    opaqueDataFormat: algorithmName(OPAQUE_FORMAT, m.otherParamsSelection & 0xf),
    multiKeyConn: (m.otherParamsSelection & SPDM_ALGORITHMS_MULTI_KEY_CONN) !== 0,
    measurementHash: algorithmName(SPDM_MEAS_HASH, m.measurementHashAlgo),
    baseAsym: algorithmName(SPDM_ASYM, m.baseAsymSel),
    baseHash: algorithmName(SPDM_HASH, m.baseHashSel),
    melSpecification: algorithmName(MEL_SPEC, m.melSpecificationSel),
    dhe: algorithmName(SPDM_DHE, tableValue(m, SPDM_ALG_TYPE_DHE)),
    aead: algorithmName(SPDM_AEAD, tableValue(m, SPDM_ALG_TYPE_AEAD)),
    reqBaseAsym: algorithmName(SPDM_ASYM, tableValue(m, SPDM_ALG_TYPE_REQ_BASE_ASYM)),
    keySchedule: algorithmName(KEY_SCHEDULE, tableValue(m, SPDM_ALG_TYPE_KEY_SCHEDULE)),
  };
}

const HASH_SIZE: Record<number, number> = {
  [SPDM_HASH.TPM_ALG_SHA_256]: 32,
  [SPDM_HASH.TPM_ALG_SHA_384]: 48,
  [SPDM_HASH.TPM_ALG_SHA_512]: 64,
  [SPDM_HASH.TPM_ALG_SHA3_256]: 32,
  [SPDM_HASH.TPM_ALG_SHA3_384]: 48,
  [SPDM_HASH.TPM_ALG_SHA3_512]: 64,
  [SPDM_HASH.TPM_ALG_SM3_256]: 32,
};

const MEAS_HASH_SIZE: Record<number, number> = {
  [SPDM_MEAS_HASH.RAW_BIT_STREAM_ONLY]: 0,
  [SPDM_MEAS_HASH.TPM_ALG_SHA_256]: 32,
  [SPDM_MEAS_HASH.TPM_ALG_SHA_384]: 48,
  [SPDM_MEAS_HASH.TPM_ALG_SHA_512]: 64,
  [SPDM_MEAS_HASH.TPM_ALG_SHA3_256]: 32,
  [SPDM_MEAS_HASH.TPM_ALG_SHA3_384]: 48,
  [SPDM_MEAS_HASH.TPM_ALG_SHA3_512]: 64,
  [SPDM_MEAS_HASH.TPM_ALG_SM3_256]: 32,
};

const SIGNATURE_SIZE: Record<number, number> = {
  [SPDM_ASYM.TPM_ALG_RSASSA_2048]: 256,
  [SPDM_ASYM.TPM_ALG_RSAPSS_2048]: 256,
  [SPDM_ASYM.TPM_ALG_RSASSA_3072]: 384,
  [SPDM_ASYM.TPM_ALG_RSAPSS_3072]: 384,
  [SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P256]: 64,
  [SPDM_ASYM.TPM_ALG_RSASSA_4096]: 512,
  [SPDM_ASYM.TPM_ALG_RSAPSS_4096]: 512,
  [SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P384]: 96,
  [SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P521]: 132,
  [SPDM_ASYM.TPM_ALG_SM2_ECC_SM2_P256]: 64,
  [SPDM_ASYM.EDDSA_ED25519]: 64,
  [SPDM_ASYM.EDDSA_ED448]: 114,
};

const DHE_SIZE: Record<number, number> = {
  [SPDM_DHE.FFDHE_2048]: 256,
  [SPDM_DHE.FFDHE_3072]: 384,
  [SPDM_DHE.FFDHE_4096]: 512,
  [SPDM_DHE.SECP_256_R1]: 64,
  [SPDM_DHE.SECP_384_R1]: 96,
  [SPDM_DHE.SECP_521_R1]: 132,
  [SPDM_DHE.SM2_P256]: 64,
};

/**
 * H, S, D (and the requester's S, the measurement digest size) that an ALGORITHMS
 * response fixes; 0 where nothing was selected.
 * @throws WireError bad-field when a selection is not exactly one known algorithm.
 */
export function algorithmSizes(m: Algorithms): AlgorithmSizes {
  const pick = (sizes: Record<number, number>, v: number, field: string, at: number) => {
    if (v === 0) return 0;
    const n = sizes[v];
    if (n === undefined) {
      throw new WireError('SPDM', 'ALGORITHMS', field, at, 'bad-field', `0x${v.toString(16)}`);
    }
    return n;
  };
  // Offsets of the tables, so that an error points at the AlgSupported it is about.
  let at = 36 + EXT_ALG_SIZE * (m.extAsymSel.length + m.extHashSel.length);
  const tableAt: Record<number, number> = {};
  for (const t of m.algStructs) {
    tableAt[t.algType] ??= at + 2;
    at += 4 + EXT_ALG_SIZE * t.algExternal.length;
  }
  const table = (algType: number) => tableAt[algType] ?? 0;
  return {
    hashSize: pick(HASH_SIZE, m.baseHashSel, 'BaseHashSel', 16),
    signatureSize: pick(SIGNATURE_SIZE, m.baseAsymSel, 'BaseAsymSel', 12),
    dheSize: pick(DHE_SIZE, tableValue(m, SPDM_ALG_TYPE_DHE), 'DHE', table(SPDM_ALG_TYPE_DHE)),
    reqSignatureSize: pick(
      SIGNATURE_SIZE,
      tableValue(m, SPDM_ALG_TYPE_REQ_BASE_ASYM),
      'ReqBaseAsymAlg',
      table(SPDM_ALG_TYPE_REQ_BASE_ASYM),
    ),
    measurementHashSize: pick(MEAS_HASH_SIZE, m.measurementHashAlgo, 'MeasurementHashAlgo', 8),
  };
}
