/** The guest's attestation: evidence and policy types, the policy loader, the verifier. */
export type {
  AttestationCheck,
  AttestationEvidence,
  AttestationReason,
  AttestationRequest,
  AttestationResult,
  TdiStateName,
} from './evidence.ts';
export type {
  AttestationPolicy,
  InterfaceInfoFlag,
  LockFlagName,
  RangeAttributeName,
  ReferenceMeasurement,
  ReportReference,
} from './policy.ts';
export { loadPolicy, parsePolicy } from './policy-load.ts';
export { verifyEvidence } from './verify.ts';
