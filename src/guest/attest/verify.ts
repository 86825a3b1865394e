/**
 * The guest's attestation verifier (SYSTEM.md section 4 step 4, invariant 12): every check
 * of the evidence against the policy and what the guest knows, all run, every failure named.
 * Pure: the same inputs give the same result, and nothing is changed.
 */
import { decodeInterfaceReport, type InterfaceReport } from '../../wire/tdisp/report.ts';
import { checkChain } from './check-chain.ts';
import { checkFreshness, checkInterfaceId, checkTdiState } from './check-identity.ts';
import { checkMeasurements } from './check-measurements.ts';
import { checkMmioRanges } from './check-mmio-ranges.ts';
import { checkReportFields } from './check-report-fields.ts';
import {
  checkFirmwareUpdate,
  checkInterfaceInfo,
  checkLockFlags,
} from './check-report-properties.ts';
import type {
  AttestationEvidence,
  AttestationReason,
  AttestationRequest,
  AttestationResult,
} from './evidence.ts';
import type { AttestationPolicy } from './policy.ts';

export function verifyEvidence(
  policy: AttestationPolicy,
  request: AttestationRequest,
  evidence: AttestationEvidence,
): AttestationResult {
  const reasons: AttestationReason[] = [
    ...checkFreshness(request, evidence),
    ...checkInterfaceId(request, evidence),
    ...checkTdiState(policy, evidence),
    ...checkChain(policy, evidence, request.at),
    ...checkMeasurements(policy, evidence),
    ...checkLockFlags(policy, evidence),
    ...checkFirmwareUpdate(policy, evidence),
  ];
  let report: InterfaceReport | undefined;
  try {
    report = decodeInterfaceReport(evidence.report.bytes);
  } catch (e) {
    reasons.push({ check: 'report', message: `DEVICE_INTERFACE_REPORT: ${(e as Error).message}` });
  }
  if (report) {
    reasons.push(...checkMmioRanges(policy, request, evidence, report));
    reasons.push(...checkInterfaceInfo(policy, report));
    reasons.push(...checkReportFields(policy, report));
  }
  return reasons.length ? { ok: false, reasons } : { ok: true };
}
