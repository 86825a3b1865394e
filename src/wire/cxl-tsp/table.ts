/** Dispatch table from TSP Opcode to codec; opcodes not listed decode to the unknown case. */
import { cxlTspCapabilitiesRspCodec } from './capabilities.ts';
import type { CxlTspFamilyCodec } from './codec.ts';
import { cxlTspGetConfigurationRspCodec, cxlTspSetConfigurationCodec } from './configuration.ts';
import * as C from './constants.ts';
import { cxlTspErrorRspCodec } from './error.ts';
import {
  cxlTspGetConfigurationReportCodec,
  cxlTspGetConfigurationReportRspCodec,
} from './report.ts';
import { cxlTspSimpleCodec } from './simple.ts';
import { cxlTspSetTeStateCodec } from './te-state.ts';
import { cxlTspVersionRspCodec } from './version.ts';

export const CXL_TSP_CODECS: Readonly<Record<number, CxlTspFamilyCodec>> = {
  [C.CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION]: cxlTspSimpleCodec,
  [C.CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION_RSP]: cxlTspVersionRspCodec,
  [C.CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES]: cxlTspSimpleCodec,
  [C.CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES_RSP]: cxlTspCapabilitiesRspCodec,
  [C.CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION]: cxlTspSetConfigurationCodec,
  [C.CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION_RSP]: cxlTspSimpleCodec,
  [C.CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION]: cxlTspSimpleCodec,
  [C.CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_RSP]: cxlTspGetConfigurationRspCodec,
  [C.CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT]: cxlTspGetConfigurationReportCodec,
  [C.CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT_RSP]: cxlTspGetConfigurationReportRspCodec,
  [C.CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION]: cxlTspSimpleCodec,
  [C.CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION_RSP]: cxlTspSimpleCodec,
  [C.CXL_TSP_OPCODE_SET_TARGET_TE_STATE]: cxlTspSetTeStateCodec,
  [C.CXL_TSP_OPCODE_SET_TARGET_TE_STATE_RSP]: cxlTspSimpleCodec,
  [C.CXL_TSP_OPCODE_ERROR_RSP]: cxlTspErrorRspCodec,
};
