/**
 * ERROR_RSP (0x7F), CXL 3.x 11.5: header | reserved u16 | ErrorCode u32 | ErrorData u32 |
 * ExtendedErrorData (the rest).
 */
import type { CxlTspFamilyCodec } from './codec.ts';
import type { CXL_TSP_OPCODE_ERROR_RSP } from './constants.ts';

export interface CxlTspErrorRsp {
  version: number;
  opCode: typeof CXL_TSP_OPCODE_ERROR_RSP;
  reserved?: number;
  /** CXL_TSP_ERROR_CODE_*. */
  errorCode: number;
  errorData: number;
  extendedErrorData?: Uint8Array;
}

export const CXL_TSP_ERROR_RSP_SIZE = 12;

export const cxlTspErrorRspCodec: CxlTspFamilyCodec<CxlTspErrorRsp> = {
  name: 'ERROR_RSP',
  decode(r, version, opCode) {
    const reserved = r.reservedU16('Reserved');
    const m: CxlTspErrorRsp = {
      version,
      opCode: opCode as CxlTspErrorRsp['opCode'],
      errorCode: r.u32('ErrorCode'),
      errorData: r.u32('ErrorData'),
    };
    const ext = r.rest('ExtendedErrorData');
    if (ext.length) m.extendedErrorData = ext;
    if (reserved !== undefined) m.reserved = reserved;
    return m;
  },
  encode(w, m) {
    w.u16(m.reserved ?? 0, 'Reserved')
      .u32(m.errorCode, 'ErrorCode')
      .u32(m.errorData, 'ErrorData');
    if (m.extendedErrorData) w.bytes(m.extendedErrorData);
  },
};
