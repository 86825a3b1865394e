/**
 * KEY_EXCHANGE / KEY_EXCHANGE_RSP from the requester's side (DSP0274 1.3 section 10.17;
 * DSP0277 for the secured-message version; libspdm libspdm_req_key_exchange.c): an
 * ephemeral ECDHE key from the injected random source, our DSP0277 versions in the opaque
 * data, then on the response: the session id is new, the selected DSP0277 version is one we
 * offered, the signature over A || [D] || Hash(Cert) || K verifies with the slot's leaf
 * key, and (unless the handshake is in the clear) ResponderVerifyData = HMAC(rsp
 * finished_key, TH1). The session then holds its handshake keys; FINISH completes it.
 * The ephemeral private key is the call's progress between the two messages, and is
 * wiped once the shared secret is computed.
 */
import { timingSafeEqual } from 'node:crypto';
import { type DheKeyPair, dheGenerate, dheSharedSecret } from '../../crypto/dhe.ts';
import { isCryptoError, wipe } from '../../crypto/errors.ts';
import { scheduleParams, verifyData } from '../../crypto/key-schedule.ts';
import { SPDM_SIGNING_CONTEXT } from '../../crypto/signing.ts';
import { isWireError } from '../../wire/errors.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_CAP,
  SPDM_KEY_EXCHANGE,
  SPDM_KEY_EXCHANGE_RSP,
  SPDM_MEAS_SUMMARY_NONE,
  SPDM_RANDOM_SIZE,
  SPDM_SESSION_POLICY,
  SPDM_VERSION_12,
} from '../../wire/spdm/constants.ts';
import {
  type KeyExchange,
  type KeyExchangeRsp,
  sessionIdOf,
} from '../../wire/spdm/key-exchange.ts';
import {
  buildSupportedVersionsOpaque,
  decodeOpaqueData,
  findSecuredMessageData,
} from '../../wire/spdm/opaque.ts';
import { handshakeSecrets } from '../keylog.ts';
import { closeSession, deriveHandshakeKeys, openSession, type SessionState } from '../session.ts';
import { appendK, resetForRequest, startSession, thBytes, thHash } from '../transcript.ts';
import type { RequesterContext } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';
import { checkSummary } from './summary.ts';

export interface KeyExchangeOptions {
  /** Responder slot whose key signs KEY_EXCHANGE_RSP (default 0). */
  slot?: number;
  /** MeasurementSummaryHashType: SPDM_MEAS_SUMMARY_NONE / _TCB / _ALL (default none). */
  measurementSummaryHashType?: number;
  /** SessionPolicy (1.2+; default TerminationPolicyRuntimeUpdate, as libspdm). */
  sessionPolicy?: number;
}

/** The ephemeral key pair between KEY_EXCHANGE and its response. */
export interface KeyExchangeProgress {
  keyPair: DheKeyPair;
}

/** libspdm_allocate_req_session_id: 0xFFFF, 0xFFFE, ... the first not in use. */
function allocateReqSessionId(ctx: RequesterContext): number {
  const used = new Set([...ctx.data.sessions.keys()].map((id) => id & 0xffff));
  for (let id = 0xffff; id > 0; id--) if (!used.has(id)) return id;
  throw new SpdmUsageError('no free ReqSessionID');
}

/** The DSP0277 version KEY_EXCHANGE_RSP selected, or why it is not acceptable. */
function selectedVersion(
  ctx: RequesterContext,
  rsp: KeyExchangeRsp,
  version: number,
): number | string {
  const offered = ctx.config.securedMessageVersions;
  if (rsp.opaqueData.length === 0) return offered[0] ?? 0; // libspdm accepts a silent responder
  try {
    const sm = findSecuredMessageData(decodeOpaqueData(rsp.opaqueData, version));
    if (sm?.kind !== 'version-selection')
      return 'OpaqueData has no secured-message version selection';
    if (!offered.includes(sm.selectedVersion)) {
      return `selected DSP0277 version 0x${sm.selectedVersion.toString(16)} was not offered`;
    }
    return sm.selectedVersion;
  } catch (e) {
    if (isWireError(e)) return `OpaqueData: ${e.message}`;
    throw e;
  }
}

/**
 * Builds KEY_EXCHANGE with a fresh ephemeral key.
 * @throws SpdmUsageError without KEY_EX_CAP on both sides, without DHE/AEAD, or without the
 *   slot's chain.
 */
export function startKeyExchange(
  ctx: RequesterContext,
  o: KeyExchangeOptions,
): { send: Outgoing; progress: KeyExchangeProgress } {
  // -- check state
  const n = ctx.negotiated();
  const both = (bit: number) => (n.peer.flags & bit) !== 0 && (n.localFlags & bit) !== 0;
  if (!both(SPDM_CAP.KEY_EX_CAP)) throw new SpdmUsageError('KEY_EX_CAP is not set on both sides');
  const { dhe, aead, asym } = n.suite;
  if (!dhe || !aead || !asym)
    throw new SpdmUsageError('no DHE group, AEAD or signature algorithm negotiated');
  const slot = o.slot ?? 0;
  ctx.chain(slot);
  const summaryType = o.measurementSummaryHashType ?? SPDM_MEAS_SUMMARY_NONE;
  if (
    summaryType !== SPDM_MEAS_SUMMARY_NONE &&
    (n.peer.flags & (SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG)) === 0
  ) {
    throw new SpdmUsageError('a measurement summary hash needs a responder with MEAS_CAP');
  }

  // -- request
  const keyPair = dheGenerate(dhe, ctx.random);
  const req: KeyExchange = {
    version: n.version,
    code: SPDM_KEY_EXCHANGE,
    measurementSummaryHashType: summaryType,
    slotId: slot,
    reqSessionId: allocateReqSessionId(ctx),
    sessionPolicy:
      n.version >= SPDM_VERSION_12
        ? (o.sessionPolicy ?? SPDM_SESSION_POLICY.TerminationPolicyRuntimeUpdate)
        : 0,
    randomData: ctx.random(SPDM_RANDOM_SIZE),
    exchangeData: keyPair.exchangeData,
    opaqueData: buildSupportedVersionsOpaque(ctx.config.securedMessageVersions, n.version),
  };
  resetForRequest(ctx.transcript, SPDM_KEY_EXCHANGE, ctx.authenticated);
  return {
    send: {
      request: encodeSpdm(req, { sizes: n.sizes }),
      expect: {
        code: SPDM_KEY_EXCHANGE_RSP,
        version: n.version,
        codec: {
          version: n.version,
          sizes: n.sizes,
          request: req,
          handshakeInTheClear: n.handshakeInTheClear,
        },
      },
    },
    progress: { keyPair },
  };
}

/**
 * Verifies KEY_EXCHANGE_RSP; on success the session is registered in its handshake phase.
 * @returns the session id.
 * @throws SpdmVerifyError 'response', 'secured-message-version', 'key-exchange-signature',
 *   'key-exchange-verify-data', 'measurement-summary-hash'.
 */
export function absorbKeyExchangeRsp(
  ctx: RequesterContext,
  o: KeyExchangeOptions,
  ex: ExchangeProgress,
  { keyPair }: KeyExchangeProgress,
  { value: rsp, bytes }: Received<KeyExchangeRsp>,
): number {
  const n = ctx.negotiated();
  const aead = n.suite.aead!;
  const slot = o.slot ?? 0;
  const chain = ctx.chain(slot);
  const req = ex.expect.codec?.request as KeyExchange;
  let secured: SessionState | undefined;
  try {
    // -- verify: fields, opaque data, signature, then VerifyData under the new keys
    const id = sessionIdOf(req, rsp);
    const fieldProblem =
      rsp.mutAuthRequested !== 0
        ? `MutAuthRequested 0x${rsp.mutAuthRequested.toString(16)}: this requester does not authenticate itself`
        : ctx.data.sessions.has(id)
          ? `session id 0x${id.toString(16)} is already in use`
          : undefined;
    if (fieldProblem) {
      ctx.verified('response', false);
      throw new SpdmVerifyError('response', fieldProblem);
    }
    const smVersion = selectedVersion(ctx, rsp, n.version);
    ctx.verified('secured-message-version', typeof smVersion === 'number');
    if (typeof smVersion === 'string')
      throw new SpdmVerifyError('secured-message-version', smVersion);

    const st = startSession(ctx.transcript, chain.hash);
    const h = n.sizes.hashSize;
    const sigAt = bytes.length - n.sizes.signatureSize - (rsp.verifyData ? h : 0);
    appendK(st, ex.request);
    appendK(st, bytes.subarray(0, sigAt));
    ctx.verifySignature(
      'key-exchange-signature',
      SPDM_SIGNING_CONTEXT.KEY_EXCHANGE_RSP,
      chain,
      'TH',
      thBytes(st),
      rsp.signature,
    );
    appendK(st, rsp.signature);
    const th1 = thHash(st);

    let shared: Uint8Array;
    try {
      shared = dheSharedSecret(keyPair, rsp.exchangeData);
    } catch (e) {
      if (!isCryptoError(e)) throw e;
      ctx.verified('response', false);
      throw new SpdmVerifyError('response', `ExchangeData: ${e.detail}`);
    }
    const schedule = scheduleParams(n.suite, n.version);
    const opened = deriveHandshakeKeys(
      openSession({
        id,
        kind: 'dhe',
        binding: ctx.data.binding,
        role: 'requester',
        schedule,
        aead,
      }),
      shared,
      th1,
    );
    secured = opened;
    const hs = opened.handshake;
    ctx.config.onSessionSecrets?.(handshakeSecrets(opened, th1, hs, shared));
    wipe(shared);
    if (rsp.verifyData) {
      const expected = verifyData(schedule, hs.response.finishedKey, th1);
      const same = timingSafeEqual(expected, rsp.verifyData);
      ctx.verified('key-exchange-verify-data', same);
      if (!same)
        throw new SpdmVerifyError(
          'key-exchange-verify-data',
          'ResponderVerifyData is not HMAC(finished_key, TH1)',
        );
      appendK(st, rsp.verifyData);
    }
    if (rsp.measurementSummaryHash) {
      checkSummary(ctx, n.suite.hash, {
        source: 'key-exchange',
        type: req.measurementSummaryHashType,
        hash: rsp.measurementSummaryHash,
        sessionId: id,
      });
    }

    // -- update
    ctx.data.sessions.set(id, {
      secured,
      transcript: st,
      slot,
      heartbeatPeriod: rsp.heartbeatPeriod,
      securedMessageVersion: smVersion,
      measurementSummaryHash: rsp.measurementSummaryHash,
    });
    ctx.emit({
      type: 'session',
      role: 'requester',
      connectionId: ctx.config.connectionId,
      sessionId: id,
      kind: 'dhe',
      phase: 'handshake',
    });
    return id;
  } catch (e) {
    if (secured) closeSession(secured);
    throw e;
  } finally {
    wipe(keyPair.privateKey);
  }
}
