/**
 * The evidence is about the TDI the guest asked about, now, in a state it may accept:
 * the report's InterfaceID is the requested one (a report of another TDI is refused), the
 * nonce bound to the evidence is the one the guest just supplied and never used before (a
 * replay is refused), and the TDI is CONFIG_LOCKED or another state the policy allows
 * (SYSTEM.md section 5 invariant 12).
 */
import { bytesEqual } from '../../wire/hex.ts';
import { encodeFunctionId, type InterfaceId } from '../../wire/tdisp/messages.ts';
import type { AttestationEvidence, AttestationReason, AttestationRequest } from './evidence.ts';
import type { AttestationPolicy } from './policy.ts';

const functionIdOf = (id: InterfaceId) => `0x${encodeFunctionId(id).toString(16).padStart(8, '0')}`;

export function checkInterfaceId(
  request: AttestationRequest,
  evidence: AttestationEvidence,
): AttestationReason[] {
  const asked = functionIdOf(request.interfaceId);
  const got = functionIdOf(evidence.report.interfaceId);
  if (asked === got) return [];
  return [{ check: 'interface-id', message: `report of FunctionID ${got}, asked about ${asked}` }];
}

export function checkFreshness(
  request: AttestationRequest,
  evidence: AttestationEvidence,
): AttestationReason[] {
  const out: AttestationReason[] = [];
  if (!bytesEqual(evidence.nonce, request.nonce)) {
    const old = (request.usedNonces ?? []).some((n) => bytesEqual(n, evidence.nonce));
    out.push({
      check: 'freshness',
      message: old
        ? 'evidence bound to a nonce of an earlier request: replayed'
        : 'evidence not bound to the nonce supplied',
    });
  }
  if ((request.usedNonces ?? []).some((n) => bytesEqual(n, request.nonce))) {
    out.push({ check: 'freshness', message: 'the nonce supplied was used before' });
  }
  return out;
}

export function checkTdiState(
  policy: AttestationPolicy,
  evidence: AttestationEvidence,
): AttestationReason[] {
  if (policy.states.includes(evidence.tdiState)) return [];
  return [
    {
      check: 'tdi-state',
      message: `TDI is ${evidence.tdiState}, the policy accepts ${policy.states.join(', ')}`,
    },
  ];
}
