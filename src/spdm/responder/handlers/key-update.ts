/**
 * KEY_UPDATE -> KEY_UPDATE_ACK (DSP0274 1.3 section 10.21; libspdm
 * libspdm_get_response_key_update), inside an established session:
 * - UpdateKey: the requester-to-responder key moves on; the old one stays until verified.
 * - UpdateAllKeys: both keys move on; the ACK already goes out under the new response key
 *   (as the DOE 1.3 capture shows), the old request key stays until verified.
 * - VerifyNewKey: arrives under the new request key; the old one is forgotten.
 * The ACK echoes KeyOperation and Tag.
 */
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import {
  SPDM_ERROR_CODE,
  SPDM_KEY_UPDATE_ACK,
  SPDM_KEY_UPDATE_OP,
} from '../../../wire/spdm/constants.ts';
import type { KeyUpdate } from '../../../wire/spdm/key-update.ts';
import { commitKeyUpdate, hasPendingUpdate, updateKey } from '../../session.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';

export function handleKeyUpdate(
  ctx: ResponderContext,
  req: HandlerRequest<KeyUpdate>,
): HandlerResult {
  const m = req.message;
  const rs = req.session;
  // check state: an established session.
  if (rs?.session.phase !== 'established') return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  let session = rs.session;
  // validate: a known operation; VerifyNewKey only after an update.
  const op = m.keyOperation;
  if (op === SPDM_KEY_UPDATE_OP.VerifyNewKey && !hasPendingUpdate(session, 'request')) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  if (
    op !== SPDM_KEY_UPDATE_OP.UpdateKey &&
    op !== SPDM_KEY_UPDATE_OP.UpdateAllKeys &&
    op !== SPDM_KEY_UPDATE_OP.VerifyNewKey
  ) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  // process
  const base = {
    type: 'key-update' as const,
    role: 'responder' as const,
    connectionId: ctx.config.connectionId,
    sessionId: session.id,
    operation: op,
  };
  if (op === SPDM_KEY_UPDATE_OP.VerifyNewKey) {
    rs.session = commitKeyUpdate(session, 'request');
    ctx.emit({ ...base, directions: ['request'], action: 'verified' });
  } else {
    session = updateKey(session, 'request');
    if (op === SPDM_KEY_UPDATE_OP.UpdateAllKeys) session = updateKey(session, 'response', false);
    rs.session = session;
    const directions: ('request' | 'response')[] =
      op === SPDM_KEY_UPDATE_OP.UpdateAllKeys ? ['request', 'response'] : ['request'];
    ctx.emit({ ...base, directions, action: 'updated' });
  }
  // respond
  return respond(
    encodeSpdm({
      version: ctx.negotiated().version,
      code: SPDM_KEY_UPDATE_ACK,
      keyOperation: op,
      tag: m.tag,
    }),
  );
}
