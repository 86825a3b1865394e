/**
 * FINISH / FINISH_RSP from the requester's side (DSP0274 1.3 section 10.18; libspdm
 * libspdm_req_finish.c): RequesterVerifyData = HMAC(req finished_key, Hash(TH up to the
 * FINISH header)); FINISH travels under the handshake keys, or in the clear when both
 * sides set HANDSHAKE_IN_THE_CLEAR, and then FINISH_RSP carries ResponderVerifyData =
 * HMAC(rsp finished_key, Hash(TH up to the FINISH_RSP header)). TH2 then gives the data
 * keys and the session is established (the key switch).
 */
import { timingSafeEqual } from 'node:crypto';
import { digest } from '../../crypto/hash.ts';
import { verifyData } from '../../crypto/key-schedule.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import { SPDM_FINISH, SPDM_FINISH_RSP } from '../../wire/spdm/constants.ts';
import type { Finish, FinishRsp } from '../../wire/spdm/finish.ts';
import { dataSecrets } from '../keylog.ts';
import { deriveDataKeys, establishSession } from '../session.ts';
import { appendF, resetForRequest, thBytes, thHash } from '../transcript.ts';
import type { RequesterContext } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';

/** The size of an SPDM message header (the part of FINISH / FINISH_RSP before its fields). */
const HEADER_SIZE = 4;

/**
 * Builds FINISH for a session in its handshake phase.
 * @throws SpdmUsageError when the session is not in its handshake.
 */
export function startFinish(ctx: RequesterContext, sessionId: number): Outgoing {
  // -- check state
  const n = ctx.negotiated();
  const s = ctx.session(sessionId);
  const hs = s.secured.phase === 'handshake' ? s.secured.handshake : undefined;
  if (!hs) {
    throw new SpdmUsageError(`session 0x${sessionId.toString(16)} is not in its handshake`);
  }

  // -- request
  const header = Uint8Array.of(n.version, SPDM_FINISH, 0, 0);
  const fin: Finish = {
    version: n.version,
    code: SPDM_FINISH,
    signatureIncluded: false,
    reqSlotId: 0,
    verifyData: verifyData(
      s.secured.schedule,
      hs.request.finishedKey,
      digest(n.suite.hash, thBytes(s.transcript), header),
    ),
  };
  resetForRequest(ctx.transcript, SPDM_FINISH, ctx.authenticated, s.transcript);
  return {
    request: encodeSpdm(fin, { sizes: n.sizes }),
    expect: {
      code: SPDM_FINISH_RSP,
      version: n.version,
      codec: {
        version: n.version,
        sizes: n.sizes,
        handshakeInTheClear: n.handshakeInTheClear,
      },
    },
    route: { sessionId, clear: n.handshakeInTheClear },
  };
}

/**
 * Takes FINISH_RSP; the session is established (the key switch).
 * @throws SpdmVerifyError 'finish-verify-data'.
 */
export function absorbFinishRsp(
  ctx: RequesterContext,
  sessionId: number,
  ex: ExchangeProgress,
  { bytes }: Received<FinishRsp>,
): void {
  const n = ctx.negotiated();
  const s = ctx.session(sessionId);
  if (s.secured.phase !== 'handshake' || !s.secured.handshake)
    throw new SpdmUsageError(`session 0x${sessionId.toString(16)} is not in its handshake`);
  const hs = s.secured.handshake;
  const st = s.transcript;

  // -- verify (in the clear only: otherwise the handshake key's MAC vouched for it)
  appendF(st, ex.request);
  if (n.handshakeInTheClear) {
    const expected = verifyData(
      s.secured.schedule,
      hs.response.finishedKey,
      digest(n.suite.hash, thBytes(st), bytes.subarray(0, HEADER_SIZE)),
    );
    const got = bytes.subarray(HEADER_SIZE);
    const same = got.length === expected.length && timingSafeEqual(expected, got);
    ctx.verified('finish-verify-data', same, sessionId);
    if (!same)
      throw new SpdmVerifyError(
        'finish-verify-data',
        'ResponderVerifyData is not HMAC(finished_key, TH)',
      );
  }
  appendF(st, bytes);

  // -- update: the key switch
  const derived = deriveDataKeys(s.secured, thHash(st));
  ctx.config.onSessionSecrets?.(dataSecrets(sessionId, thHash(st), derived.data));
  s.secured = establishSession(derived);
  ctx.emit({
    type: 'session',
    role: 'requester',
    connectionId: ctx.config.connectionId,
    sessionId,
    kind: s.secured.kind,
    phase: 'established',
  });
}
