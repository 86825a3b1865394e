/**
 * CHALLENGE -> CHALLENGE_AUTH (DSP0274 1.3 section 10.8; libspdm
 * libspdm_get_response_challenge_auth). The responder signs M1 = A || B || C, where C is
 * CHALLENGE || CHALLENGE_AUTH without its signature; then B and C start over and the
 * connection is AUTHENTICATED.
 */
import { SPDM_SIGNING_CONTEXT } from '../../../crypto/signing.ts';
import type { Challenge, ChallengeAuth } from '../../../wire/spdm/challenge.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import {
  SPDM_CHALLENGE_AUTH,
  SPDM_ERROR_CODE,
  SPDM_NONCE_SIZE,
} from '../../../wire/spdm/constants.ts';
import { appendC, m1m2, resetB, resetC } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';
import { responseSummaryHash, summaryHashTypeServable } from '../measurement-blocks.ts';

export function handleChallenge(
  ctx: ResponderContext,
  req: HandlerRequest<Challenge>,
): HandlerResult {
  const m = req.message;
  const n = ctx.negotiated();
  const a = n.algorithms;
  // validate: a provisioned slot (no provisioned raw public key), a known summary type.
  if (!summaryHashTypeServable(ctx, m.measurementSummaryHashType)) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  // check state: the slot can sign.
  if (!ctx.chain(m.slotId) || !a.suite.asym) return reject(SPDM_ERROR_CODE.InvalidRequest);
  // process
  const slotMask = a.chains.reduce((mask, ch, i) => (ch ? mask | (1 << i) : mask), 0);
  const rsp: ChallengeAuth = {
    version: n.version,
    code: SPDM_CHALLENGE_AUTH,
    slotId: m.slotId,
    slotMask,
    certChainHash: a.chainDigests[m.slotId] as Uint8Array,
    nonce: ctx.config.random(SPDM_NONCE_SIZE),
    measurementSummaryHash: responseSummaryHash(ctx, m.measurementSummaryHashType),
    opaqueData: ctx.responseOpaqueData(),
    requesterContext: m.requesterContext,
    signature: new Uint8Array(a.sizes.signatureSize),
  };
  const bytes = encodeSpdm(rsp, ctx.codec({ request: m }));
  const unsigned = bytes.subarray(0, bytes.length - a.sizes.signatureSize);
  // update: C = CHALLENGE || CHALLENGE_AUTH without signature; sign A || B || C.
  const t = ctx.transcript;
  appendC(t, req.bytes);
  appendC(t, unsigned);
  bytes.set(ctx.sign(m.slotId, SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH, m1m2(t)), unsigned.length);
  resetB(t);
  resetC(t);
  ctx.setState({ ...n, state: 'AUTHENTICATED' });
  // respond
  return respond(bytes);
}
