/**
 * HEARTBEAT -> HEARTBEAT_ACK (DSP0274 1.3 section 10.20; libspdm
 * libspdm_get_response_heartbeat): only inside an established session.
 */
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_ERROR_CODE, SPDM_HEARTBEAT_ACK } from '../../../wire/spdm/constants.ts';
import type { Heartbeat } from '../../../wire/spdm/heartbeat.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';

export function handleHeartbeat(
  ctx: ResponderContext,
  req: HandlerRequest<Heartbeat>,
): HandlerResult {
  // validate: header only.
  // check state: an established session.
  if (req.session?.session.phase !== 'established')
    return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  // respond
  return respond(encodeSpdm({ version: ctx.negotiated().version, code: SPDM_HEARTBEAT_ACK }));
}
