/**
 * END_SESSION / END_SESSION_ACK from the requester's side (DSP0274 1.3 section 10.22; libspdm
 * libspdm_req_end_session.c). The session ends here whatever the answer: its secrets are
 * wiped and it is forgotten, so no half-open session is left behind.
 */
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_END_SESSION, SPDM_END_SESSION_ACK } from '../../wire/spdm/constants.ts';
import type { EndSessionAck } from '../../wire/spdm/end-session.ts';
import type { RequesterCore, RequesterSession } from './context.ts';
import { sessionExchange } from './exchange.ts';

/**
 * Sends END_SESSION in `s` and ends it locally.
 * @param clearNegotiatedState ask the responder not to keep the negotiated state cached
 * @throws SpdmUsageError outside an established session; whatever `exchange` throws (the
 *   session is ended all the same).
 */
export async function endSession(
  core: RequesterCore,
  s: RequesterSession,
  clearNegotiatedState = false,
): Promise<void> {
  // -- check state
  const n = core.negotiated();
  s.requireEstablished();

  // -- request / response, then forget the session in any case
  const request = encodeSpdm({
    version: n.version,
    code: SPDM_END_SESSION,
    preserveNegotiatedStateClear: clearNegotiatedState,
  });
  try {
    await sessionExchange<EndSessionAck>(core, s, request, SPDM_END_SESSION_ACK);
  } finally {
    core.dropSession(s, 'end-session');
  }
}
