/**
 * The device's SPDM certificate chain against the policy's trust anchors and leaf rules
 * (DSP0274 10.7), through crypto/cert-verify: the guest trusts the device's identity only
 * through roots it chose, whatever chain the TSM's own session accepted.
 */
import { verifyCertChain } from '../../crypto/cert-verify.ts';
import { hashSize } from '../../crypto/hash.ts';
import { decodeCertChain } from '../../wire/spdm/cert-chain.ts';
import type { AttestationEvidence, AttestationReason } from './evidence.ts';
import type { AttestationPolicy } from './policy.ts';

export function checkChain(
  policy: AttestationPolicy,
  evidence: AttestationEvidence,
  at?: Date,
): AttestationReason[] {
  // Reserved bytes are zero (DSP0274 10.7.1): a chain carrying anything there is not the
  // one the device sent, and cert-verify reads past them.
  try {
    const { reserved } = decodeCertChain(evidence.certChain, hashSize(evidence.hash));
    if (reserved !== undefined) {
      const v = `0x${reserved.toString(16)}`;
      return [{ check: 'chain', message: `Reserved (bytes 2-3) is ${v}, not zero` }];
    }
  } catch {
    // verifyCertChain names the malformed buffer below.
  }
  const r = verifyCertChain(evidence.certChain, {
    hash: evidence.hash,
    trustAnchors: policy.trustAnchors,
    require: policy.leaf,
    at,
  });
  if (r.ok) return [];
  // The leaf's own rules failing is the leaf policy; anything else is the chain.
  const check =
    r.reason === 'missing-extension' || r.reason === 'wrong-key-type' ? 'leaf' : 'chain';
  const where = r.certIndex >= 0 ? `certificate ${r.certIndex}: ` : '';
  return [{ check, message: `${r.reason}: ${where}${r.detail}` }];
}
