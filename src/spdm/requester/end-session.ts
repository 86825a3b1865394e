/**
 * END_SESSION / END_SESSION_ACK from the requester's side (DSP0274 1.3 section 10.22; libspdm
 * libspdm_req_end_session.c). The session ends here whatever the answer: its secrets are
 * wiped and it is forgotten, so no half-open session is left behind.
 */
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_END_SESSION, SPDM_END_SESSION_ACK } from '../../wire/spdm/constants.ts';
import type { RequesterContext } from './context.ts';
import { type Outgoing, sessionRequest } from './exchange.ts';

/**
 * Builds END_SESSION in session `sessionId` (END_SESSION_ACK carries nothing to check).
 * @param clearNegotiatedState ask the responder not to keep the negotiated state cached
 * @throws SpdmUsageError outside an established session.
 */
export function startEndSession(
  ctx: RequesterContext,
  sessionId: number,
  clearNegotiatedState: boolean,
): Outgoing {
  // -- check state
  const n = ctx.negotiated();
  ctx.established(sessionId);

  // -- request
  const request = encodeSpdm({
    version: n.version,
    code: SPDM_END_SESSION,
    preserveNegotiatedStateClear: clearNegotiatedState,
  });
  return sessionRequest(ctx, sessionId, request, SPDM_END_SESSION_ACK);
}

/** The session is over once END_SESSION went out, whatever came back. */
export function endedSession(ctx: RequesterContext, sessionId: number): void {
  ctx.dropSession(sessionId, 'end-session');
}
