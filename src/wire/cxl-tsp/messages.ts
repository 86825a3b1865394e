/**
 * The union of every CXL TSP message teeio encodes and decodes, discriminated on `opCode`,
 * plus the unknown case. Each family lives in its own file.
 */
import type { CxlTspCapabilitiesRsp } from './capabilities.ts';
import type { CxlTspGetConfigurationRsp, CxlTspSetConfiguration } from './configuration.ts';
import type { CxlTspErrorRsp } from './error.ts';
import type { CxlTspGetConfigurationReport, CxlTspGetConfigurationReportRsp } from './report.ts';
import type { CxlTspSimple } from './simple.ts';
import type { CxlTspSetTeState } from './te-state.ts';
import type { CxlTspUnknown } from './unknown.ts';
import type { CxlTspVersionRsp } from './version.ts';

export {
  CXL_TSP_CAPABILITIES_RSP_SIZE,
  type CxlTspCapabilities,
  type CxlTspCapabilitiesRsp,
} from './capabilities.ts';
export { type CxlTspFamilyCodec, decodeCxlTsp, encodeCxlTsp } from './codec.ts';
export {
  CXL_TSP_GET_CONFIGURATION_RSP_SIZE,
  CXL_TSP_SET_CONFIGURATION_SIZE,
  type CxlTspConfiguration,
  type CxlTspGetConfigurationRsp,
  type CxlTspIbGranularityEntry,
  type CxlTspSetConfiguration,
} from './configuration.ts';
export { CXL_TSP_ERROR_RSP_SIZE, type CxlTspErrorRsp } from './error.ts';
export {
  CXL_TSP_GET_CONFIGURATION_REPORT_SIZE,
  type CxlTspGetConfigurationReport,
  type CxlTspGetConfigurationReportRsp,
} from './report.ts';
export { CXL_TSP_SIMPLE_SIZE, type CxlTspSimple, type CxlTspSimpleOpcode } from './simple.ts';
export type { CxlTspMemoryRange, CxlTspSetTeState } from './te-state.ts';
export type { CxlTspUnknown } from './unknown.ts';
export type { CxlTspVersionRsp } from './version.ts';

export type CxlTspKnownMessage =
  | CxlTspSimple
  | CxlTspVersionRsp
  | CxlTspCapabilitiesRsp
  | CxlTspSetConfiguration
  | CxlTspGetConfigurationRsp
  | CxlTspGetConfigurationReport
  | CxlTspGetConfigurationReportRsp
  | CxlTspSetTeState
  | CxlTspErrorRsp;

export type CxlTspMessage = CxlTspKnownMessage | CxlTspUnknown;
