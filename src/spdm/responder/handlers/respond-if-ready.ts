/**
 * RESPOND_IF_READY (DSP0274 1.3 section 10.13; libspdm
 * libspdm_get_response_respond_if_ready). teeio's responder answers every request at once
 * and never sends ResponseNotReady, so there is nothing to be ready for.
 */
import { SPDM_ERROR_CODE } from '../../../wire/spdm/constants.ts';
import type { RespondIfReady } from '../../../wire/spdm/respond-if-ready.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
} from '../context.ts';

export function handleRespondIfReady(
  _ctx: ResponderContext,
  _req: HandlerRequest<RespondIfReady>,
): HandlerResult {
  // validate / check state: no response is pending.
  return reject(SPDM_ERROR_CODE.UnexpectedRequest);
}
