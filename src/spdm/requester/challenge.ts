/**
 * CHALLENGE / CHALLENGE_AUTH from the requester's side (DSP0274 1.3 section 10.8; libspdm
 * libspdm_req_challenge.c): checks the slot, the CertChainHash against the chain read
 * earlier, the 1.3 RequesterContext echo and the signature over M1/M2 = A || B || C with
 * the leaf key. B and C start over after every CHALLENGE_AUTH, as the responder's do;
 * a verified one makes the connection AUTHENTICATED.
 */
import { SPDM_SIGNING_CONTEXT } from '../../crypto/signing.ts';
import { bytesEqual } from '../../wire/hex.ts';
import type { Challenge, ChallengeAuth } from '../../wire/spdm/challenge.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_CHALLENGE,
  SPDM_CHALLENGE_AUTH,
  SPDM_MEAS_SUMMARY_NONE,
  SPDM_NONCE_SIZE,
  SPDM_REQ_CONTEXT_SIZE,
  SPDM_VERSION_13,
} from '../../wire/spdm/constants.ts';
import { appendC, m1m2, resetB, resetC, resetForRequest } from '../transcript.ts';
import type { RequesterCore } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { exchange } from './exchange.ts';
import { checkSummary } from './summary.ts';

export interface ChallengeResult {
  slot: number;
  /** Param2 of CHALLENGE_AUTH: the responder's provisioned slots. */
  slotMask: number;
  measurementSummaryHash?: Uint8Array;
  opaqueData: Uint8Array;
}

/**
 * Runs CHALLENGE for `slot`.
 * @throws SpdmUsageError without CHAL_CAP, without the slot's chain, or a summary hash asked
 *   of a responder without MEAS_CAP; SpdmVerifyError 'response', 'cert-chain-hash',
 *   'challenge-signature', 'measurement-summary-hash'; whatever `exchange` throws.
 */
export async function challenge(
  core: RequesterCore,
  slot: number,
  summaryType: number,
): Promise<ChallengeResult> {
  // -- check state
  const n = core.negotiated();
  const peer = n.peer.flags;
  if ((peer & SPDM_CAP.CHAL_CAP) === 0) throw new SpdmUsageError('the responder has no CHAL_CAP');
  if (
    summaryType !== SPDM_MEAS_SUMMARY_NONE &&
    (peer & (SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG)) === 0
  ) {
    throw new SpdmUsageError('a measurement summary hash needs a responder with MEAS_CAP');
  }
  const chain = core.chain(slot);
  const rng = core.config.random;

  // -- request / response
  const req: Challenge = {
    version: n.version,
    code: SPDM_CHALLENGE,
    slotId: slot,
    measurementSummaryHashType: summaryType,
    nonce: rng(SPDM_NONCE_SIZE),
    requesterContext: n.version >= SPDM_VERSION_13 ? rng(SPDM_REQ_CONTEXT_SIZE) : undefined,
  };
  const request = encodeSpdm(req);
  resetForRequest(core.transcript, SPDM_CHALLENGE, core.authenticated);
  const { value: rsp, bytes } = await exchange<ChallengeAuth>(core, request, {
    code: SPDM_CHALLENGE_AUTH,
    version: n.version,
    codec: { version: n.version, sizes: n.sizes, request: req },
  });

  // -- verify: fields, chain hash, then the signature over A || B || C
  const t = core.transcript;
  try {
    const echo =
      rsp.slotId !== slot
        ? `CHALLENGE_AUTH is for slot ${rsp.slotId}, challenged ${slot}`
        : (rsp.slotMask & (1 << slot)) === 0
          ? `slot mask 0x${rsp.slotMask.toString(16)} lacks slot ${slot}`
          : req.requesterContext &&
              !bytesEqual(req.requesterContext, rsp.requesterContext ?? new Uint8Array())
            ? 'RequesterContext is not the one sent'
            : undefined;
    if (echo) {
      core.verified('response', false);
      throw new SpdmVerifyError('response', echo);
    }
    const sameChain = bytesEqual(rsp.certChainHash, chain.hash);
    core.verified('cert-chain-hash', sameChain);
    if (!sameChain) {
      throw new SpdmVerifyError(
        'cert-chain-hash',
        `CertChainHash is not the hash of slot ${slot}'s chain`,
      );
    }
    appendC(t, request);
    appendC(t, bytes.subarray(0, bytes.length - n.sizes.signatureSize));
    core.verifySignature(
      'challenge-signature',
      SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH,
      slot,
      chain,
      'M1/M2',
      m1m2(t),
      rsp.signature,
    );
  } finally {
    // The responder starts B and C over once it has sent CHALLENGE_AUTH.
    resetB(t);
    resetC(t);
  }

  // -- update
  core.setState({ state: 'AUTHENTICATED', negotiated: n });
  if (rsp.measurementSummaryHash) {
    checkSummary(core, n.suite.hash, {
      source: 'challenge',
      type: summaryType,
      hash: rsp.measurementSummaryHash,
    });
  }
  return {
    slot,
    slotMask: rsp.slotMask,
    measurementSummaryHash: rsp.measurementSummaryHash,
    opaqueData: rsp.opaqueData,
  };
}
