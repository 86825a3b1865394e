/**
 * PSK_EXCHANGE -> PSK_EXCHANGE_RSP (DSP0274 1.3 section 10.18; libspdm
 * libspdm_get_response_psk_exchange). Opens a PSK session: the pre-shared key is found by
 * its hint, K = PSK_EXCHANGE || PSK_EXCHANGE_RSP, TH1 = Hash(A || K) (no certificate), the
 * handshake secrets come from the PSK, and ResponderVerifyData = HMAC(rsp finished_key,
 * TH1). With PSK_CAP "with context" the requester must finish with PSK_FINISH; without it
 * the session is established as soon as the response is sealed (TH2 = TH1 || VerifyData).
 */
import { timingSafeEqual } from 'node:crypto';
import { verifyData } from '../../../crypto/key-schedule.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import { SPDM_CAP, SPDM_ERROR_CODE, SPDM_PSK_EXCHANGE_RSP } from '../../../wire/spdm/constants.ts';
import { sessionIdOf } from '../../../wire/spdm/key-exchange.ts';
import type { PskExchange, PskExchangeRsp } from '../../../wire/spdm/psk.ts';
import { dataSecrets, handshakeSecrets } from '../../keylog.ts';
import { deriveDataKeys, deriveHandshakeKeys } from '../../session.ts';
import { appendK, startSession, thHash } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
  type ResponderSession,
  reject,
  respond,
} from '../context.ts';
import { sessionHeartbeatPeriod } from '../heartbeat-watchdog.ts';
import { responseSummaryHash, summaryHashTypeServable } from '../measurement-blocks.ts';
import {
  allocateRspSessionId,
  newSession,
  selectSecuredVersion,
  versionSelectionOpaque,
} from '../session-setup.ts';

export function handlePskExchange(
  ctx: ResponderContext,
  req: HandlerRequest<PskExchange>,
): HandlerResult {
  const m = req.message;
  const n = ctx.negotiated();
  const a = n.algorithms;
  // validate: summary hash type, a known hint, a DSP0277 version we share.
  if (!summaryHashTypeServable(ctx, m.measurementSummaryHashType)) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  const entry = ctx.config.psk.find(
    (p) =>
      p.hint.length === m.pskHint.length &&
      (p.hint.length === 0 || timingSafeEqual(p.hint, m.pskHint)),
  );
  if (!entry || !a.suite.aead) return reject(SPDM_ERROR_CODE.InvalidRequest);
  const selected = selectSecuredVersion(ctx, m.opaqueData);
  if (selected === undefined) return reject(SPDM_ERROR_CODE.InvalidRequest);
  // check state: a free session slot.
  const rspSessionId = allocateRspSessionId(ctx, m.reqSessionId);
  if (rspSessionId === undefined) return reject(SPDM_ERROR_CODE.SessionLimitExceeded);

  // process
  const withContext = ctx.weSupport(SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT);
  const H = a.sizes.hashSize;
  const rsp: PskExchangeRsp = {
    version: n.version,
    code: SPDM_PSK_EXCHANGE_RSP,
    heartbeatPeriod: sessionHeartbeatPeriod(ctx),
    rspSessionId,
    measurementSummaryHash: responseSummaryHash(ctx, m.measurementSummaryHashType),
    responderContext: withContext ? ctx.config.random(H) : new Uint8Array(),
    opaqueData: versionSelectionOpaque(ctx, selected),
    verifyData: new Uint8Array(H),
  };
  const bytes = encodeSpdm(rsp, ctx.codec({ request: m }));

  // update: K, TH1, handshake keys, VerifyData.
  const id = sessionIdOf(m, { rspSessionId });
  const transcript = startSession(ctx.transcript);
  appendK(transcript, req.bytes);
  appendK(transcript, bytes.subarray(0, bytes.length - H));
  const th1 = thHash(transcript);
  const session = deriveHandshakeKeys(newSession(ctx, id, 'psk'), entry.psk, th1);
  const hs = session.handshake;
  ctx.config.onSessionSecrets?.(handshakeSecrets(session, th1, hs));
  const vd = verifyData(session.schedule, hs.response.finishedKey, thHash(transcript));
  bytes.set(vd, bytes.length - H);
  appendK(transcript, vd);
  const rs: ResponderSession = {
    session,
    transcript,
    handshakeInTheClear: false,
    heartbeatPeriod: rsp.heartbeatPeriod,
  };
  ctx.sessions.set(id, rs);

  // emit
  ctx.emitSession(id, 'psk', 'handshake');
  if (withContext) return respond(bytes);
  // No PSK_FINISH will come: the data keys follow from K alone.
  const derived = deriveDataKeys(session, thHash(transcript));
  rs.session = derived;
  ctx.config.onSessionSecrets?.(dataSecrets(id, thHash(transcript), derived.data));
  return respond(bytes, { kind: 'establish', sessionId: id, by: 'PSK_EXCHANGE' });
}
