/**
 * GET_TARGET_CONFIGURATION_REPORT (0x85) and its _RSP (0x05), CXL 3.x 11.5: the target's
 * configuration report read in portions. Request: header | reserved u16 | Offset u16 |
 * Length u16. Response: header | reserved u16 | PortionLength u16 | RemainderLength u16 |
 * report bytes [PortionLength].
 */
import type { CxlTspFamilyCodec } from './codec.ts';
import type {
  CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT,
  CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT_RSP,
} from './constants.ts';

export interface CxlTspGetConfigurationReport {
  version: number;
  opCode: typeof CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT;
  reserved?: number;
  offset: number;
  length: number;
}

export interface CxlTspGetConfigurationReportRsp {
  version: number;
  opCode: typeof CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT_RSP;
  reserved?: number;
  remainderLength: number;
  /** The portion; PortionLength is its length. */
  portion: Uint8Array;
}

export const CXL_TSP_GET_CONFIGURATION_REPORT_SIZE = 8;

export const cxlTspGetConfigurationReportCodec: CxlTspFamilyCodec<CxlTspGetConfigurationReport> = {
  name: 'GET_TARGET_CONFIGURATION_REPORT',
  decode(r, version, opCode) {
    const reserved = r.reservedU16('Reserved');
    const m: CxlTspGetConfigurationReport = {
      version,
      opCode: opCode as CxlTspGetConfigurationReport['opCode'],
      offset: r.u16('Offset'),
      length: r.u16('Length'),
    };
    if (reserved !== undefined) m.reserved = reserved;
    return m;
  },
  encode(w, m) {
    w.u16(m.reserved ?? 0, 'Reserved')
      .u16(m.offset, 'Offset')
      .u16(m.length, 'Length');
  },
};

export const cxlTspGetConfigurationReportRspCodec: CxlTspFamilyCodec<CxlTspGetConfigurationReportRsp> =
  {
    name: 'GET_TARGET_CONFIGURATION_REPORT_RSP',
    decode(r, version, opCode) {
      const reserved = r.reservedU16('Reserved');
      const portionLength = r.u16('PortionLength');
      const remainderLength = r.u16('RemainderLength');
      const m: CxlTspGetConfigurationReportRsp = {
        version,
        opCode: opCode as CxlTspGetConfigurationReportRsp['opCode'],
        remainderLength,
        portion: r.bytes(portionLength, 'ReportData'),
      };
      if (reserved !== undefined) m.reserved = reserved;
      return m;
    },
    encode(w, m) {
      w.u16(m.reserved ?? 0, 'Reserved')
        .u16(m.portion.length, 'PortionLength')
        .u16(m.remainderLength, 'RemainderLength')
        .bytes(m.portion);
    },
  };
