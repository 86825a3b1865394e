/**
 * PSK_FINISH -> PSK_FINISH_RSP (DSP0274 1.3 section 10.19; libspdm
 * libspdm_get_response_psk_finish). Only inside a PSK session in its handshake phase: a
 * DHE session never accepts PSK_FINISH (the CVE-2023-31127 pattern). RequesterVerifyData =
 * HMAC(req finished_key, Hash(A || K || PSK_FINISH header)) must match, or DecryptError and
 * the session is torn down. TH2 = Hash(A || K || F) gives the data keys, active once
 * PSK_FINISH_RSP is sealed.
 */
import { timingSafeEqual } from 'node:crypto';
import { digest } from '../../../crypto/hash.ts';
import { verifyData } from '../../../crypto/key-schedule.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_CAP, SPDM_ERROR_CODE, SPDM_PSK_FINISH_RSP } from '../../../wire/spdm/constants.ts';
import type { PskFinish } from '../../../wire/spdm/psk.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';
import { establish } from './finish.ts';

const HEADER = 4;

export function handlePskFinish(
  ctx: ResponderContext,
  req: HandlerRequest<PskFinish>,
): HandlerResult {
  const m = req.message;
  const rs = req.session;
  // check state: a PSK session (with context) still in its handshake.
  if (
    rs?.session.kind !== 'psk' ||
    rs.session.phase !== 'handshake' ||
    !ctx.weSupport(SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT)
  ) {
    return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  }
  const { session, transcript } = rs;
  const hs = session.handshake;
  if (!hs) return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  // validate: RequesterVerifyData.
  const th = digest(transcript.hash, transcript.bytes(), req.bytes.subarray(0, HEADER));
  const expected = verifyData(session.schedule, hs.request.finishedKey, th);
  if (expected.length !== m.verifyData.length || !timingSafeEqual(expected, m.verifyData)) {
    return reject(SPDM_ERROR_CODE.DecryptError, 0, { teardownSessionId: session.id });
  }
  // process / respond
  const bytes = encodeSpdm({ version: ctx.negotiated().version, code: SPDM_PSK_FINISH_RSP });
  // update: F, TH2, data keys.
  transcript.appendF(req.bytes);
  transcript.appendF(bytes);
  session.deriveDataKeys(transcript.thHash());
  const id = session.id;
  return respond(bytes, () => establish(ctx, rs, id));
}
