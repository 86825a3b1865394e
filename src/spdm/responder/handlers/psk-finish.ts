/**
 * PSK_FINISH -> PSK_FINISH_RSP (DSP0274 1.3 section 10.19; libspdm
 * libspdm_get_response_psk_finish). Only inside a PSK session in its handshake phase: a
 * DHE session never accepts PSK_FINISH (the CVE-2023-31127 pattern). RequesterVerifyData =
 * HMAC(req finished_key, Hash(A || K || PSK_FINISH header)) must match, or DecryptError and
 * the session is torn down. TH2 = Hash(A || K || F) gives the data keys, active once
 * PSK_FINISH_RSP is sealed.
 */
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_CAP, SPDM_ERROR_CODE, SPDM_PSK_FINISH_RSP } from '../../../wire/spdm/constants.ts';
import type { PskFinish } from '../../../wire/spdm/psk.ts';
import { dataSecrets } from '../../keylog.ts';
import { deriveDataKeys } from '../../session.ts';
import { appendF, thHash } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  reject,
  respond,
} from '../context.ts';
import { pskFinishInKeyExchange } from '../flaws.ts';
import { checkRequesterVerifyData } from './finish.ts';

export function handlePskFinish(
  ctx: ResponderContext,
  req: HandlerRequest<PskFinish>,
): HandlerResult {
  const rs = req.session;
  // check state: a PSK session (with context) still in its handshake (or, with the seeded
  // flaw, any session in its handshake).
  const flawed = pskFinishInKeyExchange(ctx, rs);
  if (
    !rs ||
    (!flawed &&
      (rs.session.kind !== 'psk' ||
        rs.session.phase !== 'handshake' ||
        !ctx.weSupport(SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT)))
  ) {
    return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  }
  const { session, transcript } = rs;
  const hs = session.phase === 'handshake' ? session.handshake : undefined;
  if (!hs) return reject(SPDM_ERROR_CODE.UnexpectedRequest);
  // validate: RequesterVerifyData.
  const refused = checkRequesterVerifyData(rs, hs, req);
  if (refused) return refused;
  // process / respond
  const bytes = encodeSpdm({ version: ctx.negotiated().version, code: SPDM_PSK_FINISH_RSP });
  // update: F, TH2, data keys.
  appendF(transcript, req.bytes);
  appendF(transcript, bytes);
  const derived = deriveDataKeys(session, thHash(transcript));
  rs.session = derived;
  const id = session.id;
  ctx.config.onSessionSecrets?.(dataSecrets(id, thHash(transcript), derived.data));
  return respond(bytes, { kind: 'establish', sessionId: id, by: 'PSK_FINISH' });
}
