/**
 * GET_TARGET_TSP_VERSION_RSP (0x01), CXL 3.x 11.5: header | reserved u16 |
 * VersionNumberEntryCount u8 | VersionNumberEntry u8 [count] (0x10 = TSP 1.0).
 */
import type { CxlTspFamilyCodec } from './codec.ts';
import type { CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION_RSP } from './constants.ts';

export interface CxlTspVersionRsp {
  version: number;
  opCode: typeof CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION_RSP;
  reserved?: number;
  versions: number[];
}

export const cxlTspVersionRspCodec: CxlTspFamilyCodec<CxlTspVersionRsp> = {
  name: 'GET_TARGET_TSP_VERSION_RSP',
  decode(r, version, opCode) {
    const reserved = r.reservedU16('Reserved');
    const n = r.u8('VersionNumberEntryCount');
    const versions = [...r.bytes(n, 'VersionNumberEntry')];
    const m: CxlTspVersionRsp = {
      version,
      opCode: opCode as CxlTspVersionRsp['opCode'],
      versions,
    };
    if (reserved !== undefined) m.reserved = reserved;
    return m;
  },
  encode(w, m) {
    w.u16(m.reserved ?? 0, 'Reserved').u8(m.versions.length, 'VersionNumberEntryCount');
    for (const v of m.versions) w.u8(v, 'VersionNumberEntry');
  },
};
