/** Every case, in the order the suite runs them: robustness last (it may kill the responder). */
import type { ConformanceCase } from '../case.ts';
import { IDE_KM_CASES } from './ide-km.ts';
import { ROBUSTNESS_CASES } from './robustness.ts';
import { SPDM_CASES } from './spdm.ts';
import { SPDM_SESSION_CASES } from './spdm-session.ts';
import { TDISP_CASES } from './tdisp.ts';

export const ALL_CASES: readonly ConformanceCase[] = [
  ...SPDM_CASES,
  ...SPDM_SESSION_CASES,
  ...IDE_KM_CASES,
  ...TDISP_CASES,
  ...ROBUSTNESS_CASES,
];
