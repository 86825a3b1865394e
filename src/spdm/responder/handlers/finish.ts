/**
 * FINISH -> FINISH_RSP (DSP0274 1.3 section 10.17; libspdm libspdm_get_response_finish).
 * Only for a DHE session in its handshake phase: a PSK session never accepts FINISH (the
 * CVE-2023-31127 pattern). RequesterVerifyData = HMAC(req finished_key, Hash(TH || FINISH
 * header)) must match, or the answer is DecryptError and the session is torn down. FINISH
 * arrives sealed with the handshake keys, or in the clear when both sides set
 * HANDSHAKE_IN_THE_CLEAR_CAP (then FINISH_RSP carries ResponderVerifyData). The data keys
 * come from TH2 and take over once FINISH_RSP is sealed.
 */
import { timingSafeEqual } from 'node:crypto';
import { digest } from '../../../crypto/hash.ts';
import { type HandshakeSecrets, verifyData } from '../../../crypto/key-schedule.ts';
import { concat } from '../../../wire/hex.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_ERROR_CODE, SPDM_FINISH_RSP } from '../../../wire/spdm/constants.ts';
import type { Finish, FinishRsp } from '../../../wire/spdm/finish.ts';
import type { PskFinish } from '../../../wire/spdm/psk.ts';
import { dataSecrets } from '../../keylog.ts';
import { legalityErrorCode } from '../../request-legality.ts';
import { deriveDataKeys } from '../../session.ts';
import { appendF, thBytes, thHash } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  type ResponderSession,
  reject,
  respond,
} from '../context.ts';

export function handleFinish(ctx: ResponderContext, req: HandlerRequest<Finish>): HandlerResult {
  const m = req.message;
  // check state: which session (the dispatch guard let FINISH in only where
  // request-legality.ts allows it); DHE only; still in its handshake.
  let rs: ResponderSession | undefined = req.session;
  if (!rs) {
    // In the clear: the session KEY_EXCHANGE opened last; none at all is SessionRequired.
    rs = ctx.latestSessionId === undefined ? undefined : ctx.sessions.get(ctx.latestSessionId);
    if (!rs) return reject(legalityErrorCode('SessionRequired', ctx.version));
    if (!rs.handshakeInTheClear) return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  } else if (rs.handshakeInTheClear) {
    return reject(legalityErrorCode('SessionRequired', ctx.version));
  }
  if (rs.session.kind !== 'dhe' || rs.session.phase !== 'handshake') {
    return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  }
  // validate: no mutual authentication was requested, so no signature may come.
  if (m.signatureIncluded || m.signature) return reject(SPDM_ERROR_CODE.InvalidRequest);
  const { session, transcript } = rs;
  const hs = session.handshake;
  if (!hs) return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  const refused = checkRequesterVerifyData(rs, hs, req);
  if (refused) return refused;
  // process
  appendF(transcript, req.bytes);
  const n = ctx.negotiated();
  const rsp: FinishRsp = { version: n.version, code: SPDM_FINISH_RSP };
  let bytes = encodeSpdm(rsp, ctx.codec({ handshakeInTheClear: rs.handshakeInTheClear }));
  if (rs.handshakeInTheClear) {
    const rspTh = digest(transcript.hash, concat(thBytes(transcript), bytes));
    rsp.verifyData = verifyData(session.schedule, hs.response.finishedKey, rspTh);
    bytes = encodeSpdm(rsp, ctx.codec({ handshakeInTheClear: true }));
  }
  // update: F, TH2, data keys (active after FINISH_RSP is sealed).
  appendF(transcript, bytes);
  const derived = deriveDataKeys(session, thHash(transcript));
  rs.session = derived;
  const id = session.id;
  ctx.config.onSessionSecrets?.(dataSecrets(id, thHash(transcript), derived.data));
  // respond
  return respond(bytes, { kind: 'establish', sessionId: id, by: 'FINISH' });
}

/** FINISH / PSK_FINISH header bytes covered by the requester's VerifyData. */
const HEADER = 4;

/**
 * Checks FINISH / PSK_FINISH RequesterVerifyData = HMAC(req finished_key, Hash(TH || request
 * header)). Returns the DecryptError that tears the session down, or undefined when it
 * matches.
 */
export function checkRequesterVerifyData(
  rs: ResponderSession,
  hs: HandshakeSecrets,
  req: HandlerRequest<Finish | PskFinish>,
): HandlerResult | undefined {
  const { session, transcript } = rs;
  const th = digest(transcript.hash, thBytes(transcript), req.bytes.subarray(0, HEADER));
  const expected = verifyData(session.schedule, hs.request.finishedKey, th);
  const got = req.message.verifyData;
  if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
    return reject(SPDM_ERROR_CODE.DecryptError, 0, { teardownSessionId: session.id });
  }
  return undefined;
}
