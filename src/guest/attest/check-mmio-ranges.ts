/**
 * The report's MMIO ranges against the BARs the guest sees (SYSTEM.md section 4 step 4),
 * with the same FIRST_PAGE placement the TSM uses (wire/tdisp/report-ranges): a range the
 * guest was not given, a BAR left out, or one covered twice is refused.
 */
import type { InterfaceReport } from '../../wire/tdisp/report.ts';
import { checkReport } from '../../wire/tdisp/report-ranges.ts';
import type { AttestationEvidence, AttestationReason, AttestationRequest } from './evidence.ts';
import type { AttestationPolicy } from './policy.ts';

export function checkMmioRanges(
  policy: AttestationPolicy,
  request: AttestationRequest,
  evidence: AttestationEvidence,
  report: InterfaceReport,
): AttestationReason[] {
  const r = checkReport(report, request.bars, evidence.mmioReportingOffset, {
    allowHoles: policy.report.allowHoles,
  });
  return r.mismatches.map((m) => ({ check: 'mmio-ranges', message: m.message }));
}
