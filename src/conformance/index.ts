/** conformance/: a test suite for SPDM, IDE_KM and TDISP responders on the spdm-emu socket. */
export type { CaseResult, ConformanceCase, Group, Outcome } from './case.ts';
export { ALL_CASES } from './cases/index.ts';
export type { Target } from './context.ts';
export { applyProfile, type Deviation, PROFILES, type Profile } from './profiles/index.ts';
export {
  formatResult,
  jsonReport,
  junitReport,
  statusTag,
  type TextReportOptions,
  textReport,
  totals,
  totalsLine,
} from './report.ts';
export { matchesOnly, type RunOptions, runConformance, selectCases } from './runner.ts';
