/**
 * HEARTBEAT / HEARTBEAT_ACK from the requester's side (DSP0274 1.3 section 10.20; libspdm
 * libspdm_req_heartbeat.c): a header-only exchange inside an established session, which
 * keeps the responder from ending it after twice the HeartbeatPeriod. A session whose
 * KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP gave HeartbeatPeriod 0 has no heartbeat, and
 * libspdm's requester refuses to send one there (LIBSPDM_STATUS_INVALID_STATE_LOCAL); so
 * does this one.
 */
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_CAP, SPDM_HEARTBEAT, SPDM_HEARTBEAT_ACK } from '../../wire/spdm/constants.ts';
import type { RequesterContext } from './context.ts';
import { SpdmUsageError } from './errors.ts';
import { type Outgoing, sessionRequest } from './exchange.ts';

/**
 * Builds HEARTBEAT in session `sessionId` (HEARTBEAT_ACK carries nothing to check).
 * @throws SpdmUsageError without HBEAT_CAP on both sides, when the session's
 *   HeartbeatPeriod is 0, or outside an established session.
 */
export function startHeartbeat(ctx: RequesterContext, sessionId: number): Outgoing {
  // -- check state
  const n = ctx.negotiated();
  if ((n.peer.flags & n.localFlags & SPDM_CAP.HBEAT_CAP) === 0) {
    throw new SpdmUsageError('HBEAT_CAP is not set on both sides');
  }
  const s = ctx.session(sessionId);
  if (s.heartbeatPeriod === 0) {
    throw new SpdmUsageError(
      `session 0x${sessionId.toString(16)} has HeartbeatPeriod 0: the responder runs no heartbeat`,
    );
  }
  ctx.established(sessionId);

  // -- request
  const request = encodeSpdm({ version: n.version, code: SPDM_HEARTBEAT });
  return sessionRequest(ctx, sessionId, request, SPDM_HEARTBEAT_ACK);
}
