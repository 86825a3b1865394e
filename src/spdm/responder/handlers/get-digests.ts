/**
 * GET_DIGESTS -> DIGESTS (DSP0274 1.3 section 10.6; libspdm libspdm_get_response_digests):
 * Hash(chain buffer) of every provisioned slot. Outside a session both go into B.
 */
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_DIGESTS, SPDM_ERROR_CODE, SPDM_VERSION_13 } from '../../../wire/spdm/constants.ts';
import type { Digests, GetDigests } from '../../../wire/spdm/digests.ts';
import { appendB, setD } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';

export function handleGetDigests(
  ctx: ResponderContext,
  req: HandlerRequest<GetDigests>,
): HandlerResult {
  // validate: header only, nothing more to check.
  // check state: some slot must be provisioned.
  const n = ctx.negotiated();
  const digests: Uint8Array[] = [];
  let mask = 0;
  n.algorithms.chainDigests.forEach((d, slot) => {
    if (!d) return;
    mask |= 1 << slot;
    digests.push(d);
  });
  if (mask === 0) return reject(SPDM_ERROR_CODE.Unspecified);
  // process / respond
  const rsp: Digests = {
    version: n.version,
    code: SPDM_DIGESTS,
    supportedSlotMask: n.version >= SPDM_VERSION_13 ? mask : 0,
    slotMask: mask,
    digests,
  };
  const bytes = encodeSpdm(rsp, ctx.codec());
  // update
  if (!req.session) {
    appendB(ctx.transcript, req.bytes);
    appendB(ctx.transcript, bytes);
  }
  setD(ctx.transcript, bytes);
  return respond(bytes);
}
