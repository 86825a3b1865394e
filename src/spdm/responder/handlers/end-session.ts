/**
 * END_SESSION -> END_SESSION_ACK (DSP0274 1.3 section 10.22; libspdm
 * libspdm_get_response_end_session): the ACK is sealed with the session's keys, then the
 * session ends and its secrets are wiped. teeio keeps no negotiated-state cache, so the
 * "preserve negotiated state" indicator changes nothing.
 */
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_END_SESSION_ACK, SPDM_ERROR_CODE } from '../../../wire/spdm/constants.ts';
import type { EndSession } from '../../../wire/spdm/end-session.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';

export function handleEndSession(
  ctx: ResponderContext,
  req: HandlerRequest<EndSession>,
): HandlerResult {
  // validate: header only.
  // check state: an established session.
  const rs = req.session;
  if (rs?.session.phase !== 'established') return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  const id = rs.session.id;
  // respond; update once the ACK is sealed.
  const bytes = encodeSpdm({ version: ctx.negotiated().version, code: SPDM_END_SESSION_ACK });
  return respond(bytes, { kind: 'end-session', sessionId: id });
}
