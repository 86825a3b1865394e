/**
 * KEY_EXCHANGE -> KEY_EXCHANGE_RSP (DSP0274 1.3 section 10.16; libspdm
 * libspdm_get_response_key_exchange). Opens a DHE session in the handshake phase:
 * K = KEY_EXCHANGE || KEY_EXCHANGE_RSP; the responder signs A || [D] || Hash(Cert) || K up
 * to its signature, derives the handshake secrets from TH1 (K with the signature), and
 * appends ResponderVerifyData = HMAC(rsp finished_key, TH1) unless both sides set
 * HANDSHAKE_IN_THE_CLEAR_CAP.
 */
import { dheGenerate, dheSharedSecret } from '../../../crypto/dhe.ts';
import { isCryptoError, wipe } from '../../../crypto/errors.ts';
import { verifyData } from '../../../crypto/key-schedule.ts';
import { SPDM_SIGNING_CONTEXT } from '../../../crypto/signing.ts';
import { encodeSpdm } from '../../../wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_ERROR_CODE,
  SPDM_KEY_EXCHANGE_RSP,
  SPDM_RANDOM_SIZE,
} from '../../../wire/spdm/constants.ts';
import {
  type KeyExchange,
  type KeyExchangeRsp,
  sessionIdOf,
} from '../../../wire/spdm/key-exchange.ts';
import { handshakeSecrets } from '../../keylog.ts';
import { deriveHandshakeKeys } from '../../session.ts';
import { appendK, startSession, thBytes, thHash } from '../../transcript.ts';
import {
  type HandlerRequest,
  type HandlerResult,
  type ResponderContext,
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

export function handleKeyExchange(
  ctx: ResponderContext,
  req: HandlerRequest<KeyExchange>,
): HandlerResult {
  const m = req.message;
  const n = ctx.negotiated();
  const a = n.algorithms;
  const suite = a.suite;
  // validate: summary hash type, slot, and a DSP0277 version we share.
  if (!summaryHashTypeServable(ctx, m.measurementSummaryHashType)) {
    return reject(SPDM_ERROR_CODE.InvalidRequest);
  }
  const chainDigest = a.chainDigests[m.slotId & 0xff];
  if (!chainDigest || !suite.asym || !suite.dhe) return reject(SPDM_ERROR_CODE.InvalidRequest);
  const selected = selectSecuredVersion(ctx, m.opaqueData);
  if (selected === undefined) return reject(SPDM_ERROR_CODE.InvalidRequest);
  // check state: a free session slot.
  const rspSessionId = allocateRspSessionId(ctx, m.reqSessionId);
  if (rspSessionId === undefined) return reject(SPDM_ERROR_CODE.SessionLimitExceeded);

  // process: the ephemeral key and the shared secret.
  const kp = dheGenerate(suite.dhe, ctx.config.random);
  let shared: Uint8Array;
  try {
    shared = dheSharedSecret(kp, m.exchangeData);
  } catch (e) {
    wipe(kp.privateKey);
    if (isCryptoError(e)) return reject(SPDM_ERROR_CODE.InvalidRequest);
    throw e;
  }
  wipe(kp.privateKey);
  const inClear = ctx.bothSupport(SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP);
  const H = a.sizes.hashSize;
  const S = a.sizes.signatureSize;
  const rsp: KeyExchangeRsp = {
    version: n.version,
    code: SPDM_KEY_EXCHANGE_RSP,
    heartbeatPeriod: sessionHeartbeatPeriod(ctx),
    rspSessionId,
    mutAuthRequested: 0,
    reqSlotIdParam: 0,
    randomData: ctx.config.random(SPDM_RANDOM_SIZE),
    exchangeData: kp.exchangeData,
    measurementSummaryHash: responseSummaryHash(ctx, m.measurementSummaryHashType),
    opaqueData: versionSelectionOpaque(ctx, selected),
    signature: new Uint8Array(S),
    verifyData: inClear ? undefined : new Uint8Array(H),
  };
  const bytes = encodeSpdm(rsp, ctx.codec({ request: m, handshakeInTheClear: inClear }));
  const sigAt = bytes.length - S - (inClear ? 0 : H);

  // update: K, signature, TH1, handshake keys, VerifyData.
  const id = sessionIdOf(m, { rspSessionId });
  const transcript = startSession(ctx.transcript, chainDigest);
  appendK(transcript, req.bytes);
  appendK(transcript, bytes.subarray(0, sigAt));
  const signature = ctx.sign(m.slotId, SPDM_SIGNING_CONTEXT.KEY_EXCHANGE_RSP, thBytes(transcript));
  bytes.set(signature, sigAt);
  appendK(transcript, signature);
  const th1 = thHash(transcript);
  const session = deriveHandshakeKeys(newSession(ctx, id, 'dhe'), shared, th1);
  const hs = session.handshake;
  ctx.config.onSessionSecrets?.(handshakeSecrets(session, th1, hs, shared));
  wipe(shared);
  if (!inClear) {
    const vd = verifyData(session.schedule, hs.response.finishedKey, thHash(transcript));
    bytes.set(vd, sigAt + S);
    appendK(transcript, vd);
  }
  ctx.sessions.set(id, {
    session,
    transcript,
    slotId: m.slotId,
    handshakeInTheClear: inClear,
    heartbeatPeriod: rsp.heartbeatPeriod,
  });
  ctx.latestSessionId = id;

  // emit
  ctx.emitSession(id, 'dhe', 'handshake');
  return respond(bytes);
}
