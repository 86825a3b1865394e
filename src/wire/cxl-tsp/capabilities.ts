/**
 * GET_TARGET_CAPABILITIES_RSP (0x02), CXL 3.x 11.5 (52 bytes): header |
 * MemoryEncryptionFeaturesSupported u16 | MemoryEncryptionAlgorithmsSupported u32 |
 * MemoryEncryptionNumberOfRangeBasedKeys u16 | reserved u16 |
 * TEStateChangeAndAccessControlFeaturesSupported u16 | reserved u16 |
 * SupportedExplicitOOBTEStateGranularity u32 | SupportedExplicitIBTEStateGranularity u32 |
 * ConfigurationFeaturesSupported u16 | reserved u16 | NumberOfCKIDs u32 |
 * NumberOfSecondarySessions u8 | reserved [0x13].
 */
import type { CxlTspFamilyCodec } from './codec.ts';
import type { CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES_RSP } from './constants.ts';

export interface CxlTspCapabilities {
  memoryEncryptionFeaturesSupported: number;
  memoryEncryptionAlgorithmsSupported: number;
  memoryEncryptionNumberOfRangeBasedKeys: number;
  teStateChangeAndAccessControlFeaturesSupported: number;
  supportedExplicitOobTeStateGranularity: number;
  supportedExplicitIbTeStateGranularity: number;
  configurationFeaturesSupported: number;
  numberOfCkids: number;
  numberOfSecondarySessions: number;
}

export interface CxlTspCapabilitiesRsp extends CxlTspCapabilities {
  version: number;
  opCode: typeof CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES_RSP;
  /** The reserved runs, in order, when any is not zero. */
  reserved?: Uint8Array[];
}

export const CXL_TSP_CAPABILITIES_RSP_SIZE = 52;
const RESERVED_RUNS = [2, 2, 2, 0x13];

export const cxlTspCapabilitiesRspCodec: CxlTspFamilyCodec<CxlTspCapabilitiesRsp> = {
  name: 'GET_TARGET_CAPABILITIES_RSP',
  decode(r, version, opCode) {
    const res: Uint8Array[] = [];
    const memoryEncryptionFeaturesSupported = r.u16('MemoryEncryptionFeaturesSupported');
    const memoryEncryptionAlgorithmsSupported = r.u32('MemoryEncryptionAlgorithmsSupported');
    const memoryEncryptionNumberOfRangeBasedKeys = r.u16('MemoryEncryptionNumberOfRangeBasedKeys');
    res.push(r.bytes(2, 'Reserved'));
    const teStateChangeAndAccessControlFeaturesSupported = r.u16(
      'TEStateChangeAndAccessControlFeaturesSupported',
    );
    res.push(r.bytes(2, 'Reserved'));
    const supportedExplicitOobTeStateGranularity = r.u32('SupportedExplicitOOBTEStateGranularity');
    const supportedExplicitIbTeStateGranularity = r.u32('SupportedExplicitIBTEStateGranularity');
    const configurationFeaturesSupported = r.u16('ConfigurationFeaturesSupported');
    res.push(r.bytes(2, 'Reserved'));
    const numberOfCkids = r.u32('NumberOfCKIDs');
    const numberOfSecondarySessions = r.u8('NumberOfSecondarySessions');
    res.push(r.bytes(0x13, 'Reserved'));
    const m: CxlTspCapabilitiesRsp = {
      version,
      opCode: opCode as CxlTspCapabilitiesRsp['opCode'],
      memoryEncryptionFeaturesSupported,
      memoryEncryptionAlgorithmsSupported,
      memoryEncryptionNumberOfRangeBasedKeys,
      teStateChangeAndAccessControlFeaturesSupported,
      supportedExplicitOobTeStateGranularity,
      supportedExplicitIbTeStateGranularity,
      configurationFeaturesSupported,
      numberOfCkids,
      numberOfSecondarySessions,
    };
    if (res.some((b) => b.some((x) => x !== 0))) m.reserved = res;
    return m;
  },
  encode(w, m) {
    const res = (i: number) => m.reserved?.[i] ?? new Uint8Array(RESERVED_RUNS[i]);
    w.u16(m.memoryEncryptionFeaturesSupported, 'MemoryEncryptionFeaturesSupported');
    w.u32(m.memoryEncryptionAlgorithmsSupported, 'MemoryEncryptionAlgorithmsSupported');
    w.u16(m.memoryEncryptionNumberOfRangeBasedKeys, 'MemoryEncryptionNumberOfRangeBasedKeys');
    w.fixed(res(0), 2, 'Reserved');
    w.u16(
      m.teStateChangeAndAccessControlFeaturesSupported,
      'TEStateChangeAndAccessControlFeaturesSupported',
    );
    w.fixed(res(1), 2, 'Reserved');
    w.u32(m.supportedExplicitOobTeStateGranularity, 'SupportedExplicitOOBTEStateGranularity');
    w.u32(m.supportedExplicitIbTeStateGranularity, 'SupportedExplicitIBTEStateGranularity');
    w.u16(m.configurationFeaturesSupported, 'ConfigurationFeaturesSupported');
    w.fixed(res(2), 2, 'Reserved');
    w.u32(m.numberOfCkids, 'NumberOfCKIDs');
    w.u8(m.numberOfSecondarySessions, 'NumberOfSecondarySessions');
    w.fixed(res(3), 0x13, 'Reserved');
  },
};
