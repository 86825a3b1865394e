/**
 * END_SESSION / END_SESSION_ACK from the requester's side (DSP0274 1.3 section 10.22; libspdm
 * libspdm_req_end_session.c). The session ends here whatever the answer: its secrets are
 * wiped and it is forgotten, so no half-open session is left behind.
 */
import { decodeSpdm, encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_END_SESSION, SPDM_END_SESSION_ACK } from '../../wire/spdm/constants.ts';
import type { EndSessionAck } from '../../wire/spdm/end-session.ts';
import type { RequesterCore, RequesterSession } from './context.ts';
import { SpdmUsageError } from './errors.ts';
import { exchange } from './exchange.ts';

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
  if (s.phase !== 'established')
    throw new SpdmUsageError(`session 0x${s.id.toString(16)} is not established`);

  // -- request / response, then forget the session in any case
  const request = encodeSpdm({
    version: n.version,
    code: SPDM_END_SESSION,
    preserveNegotiatedStateClear: clearNegotiatedState,
  });
  core.transcript.resetForRequest(SPDM_END_SESSION, core.authenticated, s.transcript);
  try {
    await exchange(
      core,
      request,
      {
        code: SPDM_END_SESSION_ACK,
        version: n.version,
        decode: (b) => decodeSpdm(b, { version: n.version }) as EndSessionAck,
      },
      { session: s },
    );
  } finally {
    core.dropSession(s, 'end-session');
  }
}
