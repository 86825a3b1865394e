/**
 * The TSP messages that are the header and a reserved u16 alone (CXL 3.x 11.5):
 * GET_TARGET_TSP_VERSION, GET_TARGET_CAPABILITIES, GET_TARGET_CONFIGURATION,
 * LOCK_TARGET_CONFIGURATION and the responses SET_TARGET_CONFIGURATION_RSP,
 * LOCK_TARGET_CONFIGURATION_RSP, SET_TARGET_TE_STATE_RSP.
 */
import type { CxlTspFamilyCodec } from './codec.ts';
import type {
  CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES,
  CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION,
  CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION,
  CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION,
  CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION_RSP,
  CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION_RSP,
  CXL_TSP_OPCODE_SET_TARGET_TE_STATE_RSP,
} from './constants.ts';

export type CxlTspSimpleOpcode =
  | typeof CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION
  | typeof CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES
  | typeof CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION
  | typeof CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION
  | typeof CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION_RSP
  | typeof CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION_RSP
  | typeof CXL_TSP_OPCODE_SET_TARGET_TE_STATE_RSP;

export interface CxlTspSimple {
  version: number;
  opCode: CxlTspSimpleOpcode;
  reserved?: number;
}

/** Header (2) + reserved u16. */
export const CXL_TSP_SIMPLE_SIZE = 4;

export const cxlTspSimpleCodec: CxlTspFamilyCodec<CxlTspSimple> = {
  name: 'simple',
  decode(r, version, opCode) {
    const m: CxlTspSimple = { version, opCode: opCode as CxlTspSimpleOpcode };
    const reserved = r.reservedU16('Reserved');
    if (reserved !== undefined) m.reserved = reserved;
    return m;
  },
  encode(w, m) {
    w.u16(m.reserved ?? 0, 'Reserved');
  },
};
