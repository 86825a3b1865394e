/**
 * A session the suite holds in its handshake phase (DSP0274 1.3 section 10.17 KEY_EXCHANGE,
 * 10.19 PSK_EXCHANGE; DSP0277 secured messages): the request built and sent by hand, the
 * response decoded, TH1 and the handshake keys derived the way the requester engine does,
 * and then any SPDM message sealed with the handshake keys, so that a case can send what
 * a well-behaved requester never sends before FINISH / PSK_FINISH (another request, the
 * other kind's finishing request). Signatures are not checked here: the session cases
 * that go through the requester engine check them.
 */
import { randomBytes } from 'node:crypto';
import { dheGenerate, dheSharedSecret } from '../crypto/dhe.ts';
import { scheduleParams } from '../crypto/key-schedule.ts';
import {
  deriveHandshakeKeys,
  openSession,
  protect,
  type SessionState,
  unprotect,
} from '../spdm/session.ts';
import { appendK, type SessionTranscript, startSession, thHash } from '../spdm/transcript.ts';
import { TransportError } from '../transport/types.ts';
import { decodeSpdmPadded, encodeSpdm } from '../wire/spdm/codec.ts';
import {
  SPDM_ERROR,
  SPDM_KEY_EXCHANGE,
  SPDM_KEY_EXCHANGE_RSP,
  SPDM_PSK_EXCHANGE,
  SPDM_PSK_EXCHANGE_RSP,
  SPDM_RANDOM_SIZE,
} from '../wire/spdm/constants.ts';
import { type KeyExchange, type KeyExchangeRsp, sessionIdOf } from '../wire/spdm/key-exchange.ts';
import { buildSupportedVersionsOpaque } from '../wire/spdm/opaque.ts';
import type { PskExchange, PskExchangeRsp } from '../wire/spdm/psk.ts';
import { CaseFailure } from './case.ts';
import type { Conn } from './context.ts';
import { describeSpdmResponse } from './messages.ts';

/** A pre-shared key the responder knows (PSK_EXCHANGE). */
export interface PskSpec {
  hint: Uint8Array;
  key: Uint8Array;
}

export interface Handshake {
  kind: 'dhe' | 'psk';
  session: SessionState;
  transcript: SessionTranscript;
  /** HeartbeatPeriod of the response (seconds). */
  heartbeatPeriod: number;
}

/** What came back for a message sent in a handshake session. */
export type SecuredAnswer =
  | { kind: 'secured'; message: Uint8Array }
  | { kind: 'clear'; message: Uint8Array }
  | { kind: 'silent' };

const random = (n: number) => new Uint8Array(randomBytes(n));

function negotiated(c: Conn) {
  const n = c.requester.negotiated;
  if (!n) throw new Error('handshake before VCA');
  return n;
}

/** Decodes the expected response or fails the case with what came back. */
function expectResponse<M>(
  bytes: Uint8Array,
  code: number,
  name: string,
  codec: Parameters<typeof decodeSpdmPadded>[1],
): { message: M; bytes: Uint8Array } {
  if (bytes.length < 4 || bytes[1] !== code) {
    throw new CaseFailure(`${name} (setup)`, describeSpdmResponse(bytes), bytes);
  }
  const d = decodeSpdmPadded(bytes, codec, 3);
  return { message: d.message as M, bytes: d.bytes };
}

/**
 * KEY_EXCHANGE (slot 0, no summary hash) on an authenticated connection; the session stays
 * in its handshake phase. @throws CaseFailure when KEY_EXCHANGE_RSP does not come back.
 */
export async function keyExchangeOnly(c: Conn): Promise<Handshake> {
  await c.authenticate();
  const n = negotiated(c);
  const { dhe, aead } = n.suite;
  if (!dhe || !aead) throw new CaseFailure('a DHE group and AEAD negotiated', 'none');
  const keyPair = dheGenerate(dhe, random);
  const req: KeyExchange = {
    version: n.version,
    code: SPDM_KEY_EXCHANGE,
    measurementSummaryHashType: 0,
    slotId: 0,
    reqSessionId: 0xfff0,
    sessionPolicy: 0,
    randomData: random(SPDM_RANDOM_SIZE),
    exchangeData: keyPair.exchangeData,
    opaqueData: buildSupportedVersionsOpaque(c.requester.config.securedMessageVersions, n.version),
  };
  const reqBytes = encodeSpdm(req, { sizes: n.sizes });
  const got = expectResponse<KeyExchangeRsp>(
    await c.plain(reqBytes),
    SPDM_KEY_EXCHANGE_RSP,
    'KEY_EXCHANGE_RSP',
    { version: n.version, sizes: n.sizes, request: req, handshakeInTheClear: false },
  );
  const rsp = got.message;
  const chain = c.requester.peerChain(0);
  if (!chain) throw new CaseFailure('the slot 0 chain (setup)', 'none');
  const st = startSession(c.requester.stateSnapshot().transcript, chain.hash);
  const h = n.sizes.hashSize;
  const sigAt = got.bytes.length - n.sizes.signatureSize - (rsp.verifyData ? h : 0);
  appendK(st, reqBytes);
  appendK(st, got.bytes.subarray(0, sigAt));
  appendK(st, rsp.signature);
  const th1 = thHash(st);
  if (rsp.verifyData) appendK(st, rsp.verifyData);
  const session = deriveHandshakeKeys(
    openSession({
      id: sessionIdOf(req, rsp),
      kind: 'dhe',
      binding: c.target.binding,
      role: 'requester',
      schedule: scheduleParams(n.suite, n.version),
      aead,
    }),
    dheSharedSecret(keyPair, rsp.exchangeData),
    th1,
  );
  return { kind: 'dhe', session, transcript: st, heartbeatPeriod: rsp.heartbeatPeriod };
}

/**
 * PSK_EXCHANGE with `psk` on a negotiated connection; the session stays in its handshake
 * phase. @throws CaseFailure when PSK_EXCHANGE_RSP does not come back.
 */
export async function pskExchangeOnly(c: Conn, psk: PskSpec): Promise<Handshake> {
  await c.vca();
  const n = negotiated(c);
  const { aead } = n.suite;
  if (!aead) throw new CaseFailure('an AEAD negotiated', 'none');
  const req: PskExchange = {
    version: n.version,
    code: SPDM_PSK_EXCHANGE,
    measurementSummaryHashType: 0,
    sessionPolicy: 0,
    reqSessionId: 0xfff1,
    pskHint: psk.hint,
    requesterContext: random(n.sizes.hashSize),
    opaqueData: buildSupportedVersionsOpaque(c.requester.config.securedMessageVersions, n.version),
  };
  const reqBytes = encodeSpdm(req, { sizes: n.sizes });
  const got = expectResponse<PskExchangeRsp>(
    await c.plain(reqBytes),
    SPDM_PSK_EXCHANGE_RSP,
    'PSK_EXCHANGE_RSP',
    { version: n.version, sizes: n.sizes, request: req },
  );
  const rsp = got.message;
  const st = startSession(c.requester.stateSnapshot().transcript);
  appendK(st, reqBytes);
  appendK(st, got.bytes.subarray(0, got.bytes.length - rsp.verifyData.length));
  const th1 = thHash(st);
  appendK(st, rsp.verifyData);
  const session = deriveHandshakeKeys(
    openSession({
      id: sessionIdOf(req, rsp),
      kind: 'psk',
      binding: c.target.binding,
      role: 'requester',
      schedule: scheduleParams(n.suite, n.version),
      aead,
    }),
    psk.key,
    th1,
  );
  return { kind: 'psk', session, transcript: st, heartbeatPeriod: rsp.heartbeatPeriod };
}

/**
 * Sends `message` sealed with the session's current keys; silence (waited for the
 * target's silenceMs) and a plain answer are outcomes too.
 */
export async function sendSecured(
  c: Conn,
  h: Handshake,
  message: Uint8Array,
): Promise<SecuredAnswer> {
  const sealed = protect(h.session, message, random);
  h.session = sealed.session;
  let r: Awaited<ReturnType<typeof c.client.exchange>>;
  try {
    r = await c.client.exchange({ secured: true, bytes: sealed.record }, c.target.silenceMs);
  } catch (e) {
    if (e instanceof TransportError && e.code === 'timeout') return { kind: 'silent' };
    throw e;
  }
  if (!r.secured) return { kind: 'clear', message: r.bytes };
  const opened = unprotect(h.session, r.bytes);
  h.session = opened.session;
  return { kind: 'secured', message: opened.message };
}

export function describeSecured(a: SecuredAnswer): string {
  if (a.kind === 'silent') return 'no answer';
  const what = describeSpdmResponse(a.message);
  return a.kind === 'clear' ? `${what} in the clear` : what;
}

/** Is the answer an SPDM ERROR (sealed or plain) or silence: a refusal? */
export function refused(a: SecuredAnswer): boolean {
  return a.kind === 'silent' || (a.message.length >= 4 && a.message[1] === SPDM_ERROR);
}
