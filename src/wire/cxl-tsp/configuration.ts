/**
 * SET_TARGET_CONFIGURATION (0x83, 352 bytes) and GET_TARGET_CONFIGURATION_RSP (0x04,
 * 192 bytes), CXL 3.x 11.5. Both start with the configuration fields after the header:
 *
 *   MemoryEncryptionFeaturesEnable u16 | MemoryEncryptionAlgorithmSelect u32 | reserved u32 |
 *   TEStateChangeAndAccessControlFeaturesEnable u16 | reserved u16 |
 *   ExplicitOOBTEStateGranularity u32 | reserved u32 | ConfigurationFeaturesEnable u16 |
 *   reserved u16 | CKIDBase u32 | NumberOfCKIDs u32
 *
 * then SET: reserved [12] | 8 explicit in-band TE state granularity entries (TEStateGranularity
 * u64 | LengthIndex u8 | reserved [7]) | reserved [16] | ConfigurationValidityFlags u16 |
 * reserved [14] | SecondarySessionCKIDType u8 | reserved [15] | 4 x 32-byte secondary-session
 * PSK key material; RSP: CurrentTSPState u8 | reserved [11] | the 8 entries | reserved [16].
 * Reserved runs are kept (in order) when any is not zero.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { CxlTspFamilyCodec } from './codec.ts';
import {
  CXL_TSP_2ND_SESSION_COUNT,
  CXL_TSP_2ND_SESSION_KEY_SIZE,
  CXL_TSP_IB_GRANULARITY_ENTRY_COUNT,
  type CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_RSP,
  type CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION,
} from './constants.ts';

export interface CxlTspIbGranularityEntry {
  teStateGranularity: bigint;
  /** 0..7, or 0xFF for an unused entry. */
  lengthIndex: number;
  reserved?: Uint8Array;
}

export interface CxlTspConfiguration {
  memoryEncryptionFeaturesEnable: number;
  memoryEncryptionAlgorithmSelect: number;
  teStateChangeAndAccessControlFeaturesEnable: number;
  explicitOobTeStateGranularity: number;
  configurationFeaturesEnable: number;
  ckidBase: number;
  numberOfCkids: number;
  explicitIbTeStateGranularity: CxlTspIbGranularityEntry[];
}

export interface CxlTspSetConfiguration extends CxlTspConfiguration {
  version: number;
  opCode: typeof CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION;
  configurationValidityFlags: number;
  secondarySessionCkidType: number;
  /** Four 32-byte PSKs for secondary sessions (valid per ConfigurationValidityFlags bit). */
  secondarySessionPskKeyMaterial: Uint8Array[];
  reserved?: Uint8Array[];
}

export interface CxlTspGetConfigurationRsp extends CxlTspConfiguration {
  version: number;
  opCode: typeof CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_RSP;
  /** CXL_TSP_STATE_*. */
  currentTspState: number;
  reserved?: Uint8Array[];
}

export const CXL_TSP_SET_CONFIGURATION_SIZE = 352;
export const CXL_TSP_GET_CONFIGURATION_RSP_SIZE = 192;

const HEAD_RESERVED = [4, 2, 4, 2];

function readHead(
  r: Reader,
  res: Uint8Array[],
): Omit<CxlTspConfiguration, 'explicitIbTeStateGranularity'> {
  const memoryEncryptionFeaturesEnable = r.u16('MemoryEncryptionFeaturesEnable');
  const memoryEncryptionAlgorithmSelect = r.u32('MemoryEncryptionAlgorithmSelect');
  res.push(r.bytes(4, 'Reserved'));
  const teStateChangeAndAccessControlFeaturesEnable = r.u16(
    'TEStateChangeAndAccessControlFeaturesEnable',
  );
  res.push(r.bytes(2, 'Reserved'));
  const explicitOobTeStateGranularity = r.u32('ExplicitOOBTEStateGranularity');
  res.push(r.bytes(4, 'Reserved'));
  const configurationFeaturesEnable = r.u16('ConfigurationFeaturesEnable');
  res.push(r.bytes(2, 'Reserved'));
  return {
    memoryEncryptionFeaturesEnable,
    memoryEncryptionAlgorithmSelect,
    teStateChangeAndAccessControlFeaturesEnable,
    explicitOobTeStateGranularity,
    configurationFeaturesEnable,
    ckidBase: r.u32('CKIDBase'),
    numberOfCkids: r.u32('NumberOfCKIDs'),
  };
}

function writeHead(w: Writer, m: CxlTspConfiguration, res: (i: number, n: number) => Uint8Array) {
  w.u16(m.memoryEncryptionFeaturesEnable, 'MemoryEncryptionFeaturesEnable');
  w.u32(m.memoryEncryptionAlgorithmSelect, 'MemoryEncryptionAlgorithmSelect');
  w.fixed(res(0, HEAD_RESERVED[0]), 4, 'Reserved');
  w.u16(
    m.teStateChangeAndAccessControlFeaturesEnable,
    'TEStateChangeAndAccessControlFeaturesEnable',
  );
  w.fixed(res(1, HEAD_RESERVED[1]), 2, 'Reserved');
  w.u32(m.explicitOobTeStateGranularity, 'ExplicitOOBTEStateGranularity');
  w.fixed(res(2, HEAD_RESERVED[2]), 4, 'Reserved');
  w.u16(m.configurationFeaturesEnable, 'ConfigurationFeaturesEnable');
  w.fixed(res(3, HEAD_RESERVED[3]), 2, 'Reserved');
  w.u32(m.ckidBase, 'CKIDBase').u32(m.numberOfCkids, 'NumberOfCKIDs');
}

function readEntries(r: Reader): CxlTspIbGranularityEntry[] {
  const out: CxlTspIbGranularityEntry[] = [];
  for (let i = 0; i < CXL_TSP_IB_GRANULARITY_ENTRY_COUNT; i++) {
    const e: CxlTspIbGranularityEntry = {
      teStateGranularity: r.u64('TEStateGranularity'),
      lengthIndex: r.u8('LengthIndex'),
    };
    const reserved = r.reservedBytes(7, 'Reserved');
    if (reserved) e.reserved = reserved;
    out.push(e);
  }
  return out;
}

function writeEntries(w: Writer, entries: readonly CxlTspIbGranularityEntry[]): void {
  if (entries.length !== CXL_TSP_IB_GRANULARITY_ENTRY_COUNT) {
    throw new RangeError(`ExplicitIBTEStateGranularity: expected 8 entries, got ${entries.length}`);
  }
  for (const e of entries) {
    w.u64(e.teStateGranularity, 'TEStateGranularity').u8(e.lengthIndex, 'LengthIndex');
    w.fixed(e.reserved ?? new Uint8Array(7), 7, 'Reserved');
  }
}

const reservedOf =
  (runs: Uint8Array[] | undefined) =>
  (i: number, n: number): Uint8Array =>
    runs?.[i] ?? new Uint8Array(n);

const anySet = (runs: Uint8Array[]) => runs.some((b) => b.some((x) => x !== 0));

export const cxlTspSetConfigurationCodec: CxlTspFamilyCodec<CxlTspSetConfiguration> = {
  name: 'SET_TARGET_CONFIGURATION',
  decode(r, version, opCode) {
    const res: Uint8Array[] = [];
    const head = readHead(r, res);
    res.push(r.bytes(12, 'Reserved'));
    const explicitIbTeStateGranularity = readEntries(r);
    res.push(r.bytes(16, 'Reserved'));
    const configurationValidityFlags = r.u16('ConfigurationValidityFlags');
    res.push(r.bytes(14, 'Reserved'));
    const secondarySessionCkidType = r.u8('SecondarySessionCKIDType');
    res.push(r.bytes(15, 'Reserved'));
    const secondarySessionPskKeyMaterial: Uint8Array[] = [];
    for (let i = 0; i < CXL_TSP_2ND_SESSION_COUNT; i++) {
      secondarySessionPskKeyMaterial.push(
        r.bytes(CXL_TSP_2ND_SESSION_KEY_SIZE, 'SecondarySessionPSKKeyMaterial'),
      );
    }
    const m: CxlTspSetConfiguration = {
      version,
      opCode: opCode as CxlTspSetConfiguration['opCode'],
      ...head,
      explicitIbTeStateGranularity,
      configurationValidityFlags,
      secondarySessionCkidType,
      secondarySessionPskKeyMaterial,
    };
    if (anySet(res)) m.reserved = res;
    return m;
  },
  encode(w, m) {
    const res = reservedOf(m.reserved);
    writeHead(w, m, res);
    w.fixed(res(4, 12), 12, 'Reserved');
    writeEntries(w, m.explicitIbTeStateGranularity);
    w.fixed(res(5, 16), 16, 'Reserved');
    w.u16(m.configurationValidityFlags, 'ConfigurationValidityFlags');
    w.fixed(res(6, 14), 14, 'Reserved');
    w.u8(m.secondarySessionCkidType, 'SecondarySessionCKIDType');
    w.fixed(res(7, 15), 15, 'Reserved');
    if (m.secondarySessionPskKeyMaterial.length !== CXL_TSP_2ND_SESSION_COUNT) {
      throw new RangeError('SecondarySessionPSKKeyMaterial: expected 4 entries');
    }
    for (const k of m.secondarySessionPskKeyMaterial) {
      w.fixed(k, CXL_TSP_2ND_SESSION_KEY_SIZE, 'SecondarySessionPSKKeyMaterial');
    }
  },
};

export const cxlTspGetConfigurationRspCodec: CxlTspFamilyCodec<CxlTspGetConfigurationRsp> = {
  name: 'GET_TARGET_CONFIGURATION_RSP',
  decode(r, version, opCode) {
    const res: Uint8Array[] = [];
    const head = readHead(r, res);
    const currentTspState = r.u8('CurrentTSPState');
    res.push(r.bytes(11, 'Reserved'));
    const explicitIbTeStateGranularity = readEntries(r);
    res.push(r.bytes(16, 'Reserved'));
    const m: CxlTspGetConfigurationRsp = {
      version,
      opCode: opCode as CxlTspGetConfigurationRsp['opCode'],
      ...head,
      currentTspState,
      explicitIbTeStateGranularity,
    };
    if (anySet(res)) m.reserved = res;
    return m;
  },
  encode(w, m) {
    const res = reservedOf(m.reserved);
    writeHead(w, m, res);
    w.u8(m.currentTspState, 'CurrentTSPState');
    w.fixed(res(4, 11), 11, 'Reserved');
    writeEntries(w, m.explicitIbTeStateGranularity);
    w.fixed(res(5, 16), 16, 'Reserved');
  },
};
