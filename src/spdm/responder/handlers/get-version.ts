/**
 * GET_VERSION -> VERSION (DSP0274 1.3 section 10.3; libspdm libspdm_get_response_version).
 * GET_VERSION is always sent at SPDMVersion 1.0 and restarts the connection: every
 * session ends, every transcript starts over, A begins with this exchange.
 */

import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_ERROR_CODE, SPDM_VERSION, SPDM_VERSION_10 } from '../../../wire/spdm/constants.ts';
import type { GetVersion } from '../../../wire/spdm/version.ts';
import { appendA, resetAll } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';

export function handleGetVersion(
  ctx: ResponderContext,
  req: HandlerRequest<GetVersion>,
): HandlerResult {
  // validate: the request is always 1.0.
  if (req.message.version !== SPDM_VERSION_10) return reject(SPDM_ERROR_CODE.VersionMismatch);
  // check state: never inside a session.
  if (req.session) return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  // process: the connection starts over.
  for (const id of [...ctx.sessions.keys()]) ctx.endSession(id, 'version-restart');
  resetAll(ctx.transcript);
  // respond
  const rsp = encodeSpdm({
    version: SPDM_VERSION_10,
    code: SPDM_VERSION,
    entries: [...ctx.config.versions]
      .sort((a, b) => a - b)
      .map((v) => ({ major: v >> 4, minor: v & 0xf, update: 0, alpha: 0 })),
  });
  // update
  appendA(ctx.transcript, req.bytes);
  appendA(ctx.transcript, rsp);
  ctx.setState({ state: 'AFTER_VERSION' });
  return respond(rsp);
}
