/**
 * CHALLENGE / CHALLENGE_AUTH from the requester's side (DSP0274 1.3 section 10.8; libspdm
 * libspdm_req_challenge.c): checks the slot, the CertChainHash against the chain read
 * earlier, the 1.3 RequesterContext echo and the signature over M1/M2 = A || B || C with
 * the leaf key. B and C start over after every CHALLENGE_AUTH, as the responder's do
 * (also after one that did not verify); a verified one makes the connection AUTHENTICATED.
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
import type { RequesterContext } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';
import { checkSummary } from './summary.ts';

export interface ChallengeResult {
  slot: number;
  /** Param2 of CHALLENGE_AUTH: the responder's provisioned slots. */
  slotMask: number;
  measurementSummaryHash?: Uint8Array;
  opaqueData: Uint8Array;
}

/**
 * Builds CHALLENGE for `slot`.
 * @throws SpdmUsageError without CHAL_CAP, without the slot's chain, or a summary hash asked
 *   of a responder without MEAS_CAP.
 */
export function startChallenge(ctx: RequesterContext, slot: number, summaryType: number): Outgoing {
  // -- check state
  const n = ctx.negotiated();
  const peer = n.peer.flags;
  if ((peer & SPDM_CAP.CHAL_CAP) === 0) throw new SpdmUsageError('the responder has no CHAL_CAP');
  if (
    summaryType !== SPDM_MEAS_SUMMARY_NONE &&
    (peer & (SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG)) === 0
  ) {
    throw new SpdmUsageError('a measurement summary hash needs a responder with MEAS_CAP');
  }
  ctx.chain(slot);

  // -- request
  const req: Challenge = {
    version: n.version,
    code: SPDM_CHALLENGE,
    slotId: slot,
    measurementSummaryHashType: summaryType,
    nonce: ctx.random(SPDM_NONCE_SIZE),
    requesterContext: n.version >= SPDM_VERSION_13 ? ctx.random(SPDM_REQ_CONTEXT_SIZE) : undefined,
  };
  resetForRequest(ctx.transcript, SPDM_CHALLENGE, ctx.authenticated);
  return {
    request: encodeSpdm(req),
    expect: {
      code: SPDM_CHALLENGE_AUTH,
      version: n.version,
      codec: { version: n.version, sizes: n.sizes, request: req },
    },
  };
}

/**
 * Verifies CHALLENGE_AUTH; the connection becomes AUTHENTICATED.
 * @throws SpdmVerifyError 'response', 'cert-chain-hash', 'challenge-signature',
 *   'measurement-summary-hash'.
 */
export function absorbChallengeAuth(
  ctx: RequesterContext,
  slot: number,
  summaryType: number,
  ex: ExchangeProgress,
  { value: rsp, bytes }: Received<ChallengeAuth>,
): ChallengeResult {
  const n = ctx.negotiated();
  const chain = ctx.chain(slot);
  const req = ex.expect.codec?.request as Challenge;

  // -- verify: fields, chain hash, then the signature over A || B || C
  const t = ctx.transcript;
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
    ctx.verified('response', false);
    throw new SpdmVerifyError('response', echo);
  }
  const sameChain = bytesEqual(rsp.certChainHash, chain.hash);
  ctx.verified('cert-chain-hash', sameChain);
  if (!sameChain) {
    throw new SpdmVerifyError(
      'cert-chain-hash',
      `CertChainHash is not the hash of slot ${slot}'s chain`,
    );
  }
  appendC(t, ex.request);
  appendC(t, bytes.subarray(0, bytes.length - n.sizes.signatureSize));
  ctx.verifySignature(
    'challenge-signature',
    SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH,
    chain,
    'M1/M2',
    m1m2(t),
    rsp.signature,
  );

  // -- update: the responder starts B and C over once it has sent CHALLENGE_AUTH
  resetB(t);
  resetC(t);
  if (rsp.measurementSummaryHash) {
    checkSummary(ctx, n.suite.hash, {
      source: 'challenge',
      type: summaryType,
      hash: rsp.measurementSummaryHash,
    });
  }
  ctx.setState({ state: 'AUTHENTICATED', negotiated: n });
  return {
    slot,
    slotMask: rsp.slotMask,
    measurementSummaryHash: rsp.measurementSummaryHash,
    opaqueData: rsp.opaqueData,
  };
}

/** A CHALLENGE_AUTH that came back but did not verify still started B and C over. */
export function abortChallenge(ctx: RequesterContext, error: unknown): void {
  if (!(error instanceof SpdmVerifyError)) return;
  resetB(ctx.transcript);
  resetC(ctx.transcript);
}
