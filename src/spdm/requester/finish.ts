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
import { deriveDataKeys, establishSession } from '../session.ts';
import { appendF, resetForRequest, thBytes, thHash } from '../transcript.ts';
import type { RequesterCore, RequesterSession } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import { exchange } from './exchange.ts';

/** The size of an SPDM message header (the part of FINISH / FINISH_RSP before its fields). */
const HEADER_SIZE = 4;

/**
 * Runs FINISH for a session in its handshake phase; on success it is established.
 * @throws SpdmUsageError when the session is not in its handshake; SpdmVerifyError
 *   'finish-verify-data', 'secured-record'; whatever `exchange` throws. The caller drops
 *   the session on failure.
 */
export async function finish(core: RequesterCore, s: RequesterSession): Promise<void> {
  // -- check state
  const n = core.negotiated();
  const hs = s.secured.phase === 'handshake' ? s.secured.handshake : undefined;
  if (!hs) {
    throw new SpdmUsageError(`session 0x${s.id.toString(16)} is not in its handshake`);
  }
  const st = s.transcript;
  const hash = n.suite.hash;
  const schedule = s.secured.schedule;

  // -- request / response
  const header = Uint8Array.of(n.version, SPDM_FINISH, 0, 0);
  const fin: Finish = {
    version: n.version,
    code: SPDM_FINISH,
    signatureIncluded: false,
    reqSlotId: 0,
    verifyData: verifyData(schedule, hs.request.finishedKey, digest(hash, thBytes(st), header)),
  };
  const request = encodeSpdm(fin, { sizes: n.sizes });
  resetForRequest(core.transcript, SPDM_FINISH, core.authenticated, st);
  const { bytes } = await exchange<FinishRsp>(
    core,
    request,
    {
      code: SPDM_FINISH_RSP,
      version: n.version,
      codec: {
        version: n.version,
        sizes: n.sizes,
        handshakeInTheClear: n.handshakeInTheClear,
      },
    },
    { session: s, clear: n.handshakeInTheClear },
  );

  // -- verify (in the clear only: otherwise the handshake key's MAC vouched for it)
  appendF(st, request);
  if (n.handshakeInTheClear) {
    const expected = verifyData(
      schedule,
      hs.response.finishedKey,
      digest(hash, thBytes(st), bytes.subarray(0, HEADER_SIZE)),
    );
    const got = bytes.subarray(HEADER_SIZE);
    const same = got.length === expected.length && timingSafeEqual(expected, got);
    core.verified('finish-verify-data', same, s.id);
    if (!same)
      throw new SpdmVerifyError(
        'finish-verify-data',
        'ResponderVerifyData is not HMAC(finished_key, TH)',
      );
  }
  appendF(st, bytes);

  // -- update: the key switch
  s.secured = establishSession(deriveDataKeys(s.secured, thHash(st)));
  core.emit({
    type: 'session',
    role: 'requester',
    connectionId: core.config.connectionId,
    sessionId: s.id,
    kind: s.kind,
    phase: 'established',
  });
}
