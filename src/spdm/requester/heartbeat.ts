/**
 * HEARTBEAT / HEARTBEAT_ACK from the requester's side (DSP0274 1.3 section 10.20; libspdm
 * libspdm_req_heartbeat.c): a header-only exchange inside an established session.
 */
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_CAP, SPDM_HEARTBEAT, SPDM_HEARTBEAT_ACK } from '../../wire/spdm/constants.ts';
import type { HeartbeatAck } from '../../wire/spdm/heartbeat.ts';
import type { RequesterCore, RequesterSession } from './context.ts';
import { SpdmUsageError } from './errors.ts';
import { sessionExchange } from './exchange.ts';

/**
 * Sends HEARTBEAT in `s`.
 * @throws SpdmUsageError without HBEAT_CAP on both sides or outside an established session;
 *   whatever `exchange` throws.
 */
export async function heartbeat(core: RequesterCore, s: RequesterSession): Promise<void> {
  // -- check state
  const n = core.negotiated();
  if ((n.peer.flags & n.localFlags & SPDM_CAP.HBEAT_CAP) === 0) {
    throw new SpdmUsageError('HBEAT_CAP is not set on both sides');
  }
  s.requireEstablished();

  // -- request / response
  const request = encodeSpdm({ version: n.version, code: SPDM_HEARTBEAT });
  await sessionExchange<HeartbeatAck>(core, s, request, SPDM_HEARTBEAT_ACK);
}
