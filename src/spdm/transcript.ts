/**
 * SPDM transcripts (DSP0274 1.2/1.3 section "Transcript and transcript hash calculation
 * rules"; shared/reference/WIRE.md "Transcripts and signatures"), kept the way libspdm
 * keeps them so that both ends of a teeio <-> libspdm link hash the same bytes:
 *
 * - A  = GET_VERSION, VERSION, GET_CAPABILITIES, CAPABILITIES, NEGOTIATE_ALGORITHMS, ALGORITHMS.
 * - B  = GET_DIGESTS / DIGESTS and every GET_CERTIFICATE / CERTIFICATE since the last reset.
 * - C  = CHALLENGE || CHALLENGE_AUTH without its signature.   M1/M2 = A || B || C.
 * - M  = every GET_MEASUREMENTS / MEASUREMENTS since the last reset, the last one without
 *        its signature (per connection, and per session inside a session).
 *        L1/L2 = A || M from SPDM 1.2, M alone in 1.0/1.1.
 * - D  = the DIGESTS response, only when SPDM 1.3 MULTI_KEY_CONN_RSP was negotiated.
 * - per session: K = KEY_EXCHANGE || KEY_EXCHANGE_RSP (or PSK_EXCHANGE || _RSP), F = FINISH
 *        || FINISH_RSP; TH = A || [D] || Hash(Cert) || K || F (no D and no Hash(Cert) for
 *        PSK sessions). The 1.3 capture (which negotiates MULTI_KEY_CONN) proves the D.
 *
 * Reset rules are libspdm's libspdm_reset_message_buffer_via_request_code: every request
 * but GET_MEASUREMENTS resets M (the session's M inside a session); GET_DIGESTS resets B;
 * session-level requests before authentication reset B and C; a successful CHALLENGE_AUTH
 * resets B and C (both sides do it after signing / verifying); GET_VERSION resets all.
 *
 * Messages are kept whole (plain arrays of bytes): a transcript is plain data
 * (structuredClone-able) that a world snapshot can copy, updated in place by the functions
 * here; hashes are computed when asked for.
 */
import { digest, type HashAlg } from '../crypto/hash.ts';
import { concat } from '../wire/hex.ts';
import {
  SPDM_END_SESSION,
  SPDM_FINISH,
  SPDM_GET_DIGESTS,
  SPDM_GET_MEASUREMENTS,
  SPDM_HEARTBEAT,
  SPDM_KEY_EXCHANGE,
  SPDM_KEY_UPDATE,
  SPDM_PSK_EXCHANGE,
  SPDM_PSK_FINISH,
  SPDM_VERSION_12,
} from '../wire/spdm/constants.ts';

/** GET_ENCAPSULATED_REQUEST / DELIVER_ENCAPSULATED_RESPONSE (DSP0274 1.1+ encapsulation). */
const SPDM_GET_ENCAPSULATED_REQUEST = 0xea;
const SPDM_DELIVER_ENCAPSULATED_RESPONSE = 0xeb;

/** The per-session transcript: K, F and the session's own M. */
export interface SessionTranscript {
  hash: HashAlg;
  /** A as it was when the session started (A cannot change while a session lives). */
  messageA: Uint8Array;
  /** D (1.3 MULTI_KEY_CONN_RSP, DHE sessions only), else empty. */
  messageD: Uint8Array;
  /** Hash of the responder's certificate chain buffer; undefined for PSK sessions. */
  certChainHash: Uint8Array | undefined;
  /** Hash of the requester's chain (mutual authentication), inserted before F. */
  reqCertChainHash?: Uint8Array;
  k: Uint8Array[];
  f: Uint8Array[];
  m: Uint8Array[];
}

/** The per-connection transcript: A, B, C and the connection's M. */
export interface ConnectionTranscript {
  a: Uint8Array[];
  b: Uint8Array[];
  c: Uint8Array[];
  m: Uint8Array[];
  /** BaseHashSel, known once ALGORITHMS has been exchanged. */
  hash: HashAlg | undefined;
  /** The negotiated SPDMVersion byte (decides whether L1/L2 includes A). */
  version: number;
  /** SPDM 1.3 MULTI_KEY_CONN_RSP was negotiated: D goes into session transcripts. */
  multiKeyConn: boolean;
  /** D: the last DIGESTS response (kept only when multiKeyConn). */
  d: Uint8Array | undefined;
}

/** An empty connection transcript (before GET_VERSION). */
export function connectionTranscript(): ConnectionTranscript {
  return {
    a: [],
    b: [],
    c: [],
    m: [],
    hash: undefined,
    version: 0,
    multiKeyConn: false,
    d: undefined,
  };
}

/** A session transcript over `messageA` (and D and Hash(Cert) for DHE sessions). */
export function sessionTranscript(
  hash: HashAlg,
  messageA: Uint8Array,
  certChainHash?: Uint8Array,
  messageD?: Uint8Array,
): SessionTranscript {
  return {
    hash,
    messageA: messageA.slice(),
    messageD: messageD?.slice() ?? new Uint8Array(),
    certChainHash: certChainHash?.slice(),
    k: [],
    f: [],
    m: [],
  };
}

export function appendK(t: SessionTranscript, msg: Uint8Array): void {
  t.k.push(msg.slice());
}

export function appendF(t: SessionTranscript, msg: Uint8Array): void {
  t.f.push(msg.slice());
}

/** A || [D] || Hash(Cert) || K || [Hash(ReqCert) || F] as it stands. */
export function thBytes(t: SessionTranscript): Uint8Array {
  const parts = [t.messageA, t.messageD];
  if (t.certChainHash) parts.push(t.certChainHash);
  parts.push(...t.k);
  if (t.f.length && t.reqCertChainHash) parts.push(t.reqCertChainHash);
  parts.push(...t.f);
  return concat(...parts);
}

/** Hash of `thBytes`: TH1 after the signature (and before VerifyData), TH2 after FINISH_RSP. */
export function thHash(t: SessionTranscript): Uint8Array {
  return digest(t.hash, thBytes(t));
}

export function appendA(t: ConnectionTranscript, msg: Uint8Array): void {
  t.a.push(msg.slice());
}

/** Records a DIGESTS response as D (libspdm keeps it only with MULTI_KEY_CONN_RSP). */
export function setD(t: ConnectionTranscript, digests: Uint8Array): void {
  if (t.multiKeyConn) t.d = digests.slice();
}

export function appendB(t: ConnectionTranscript, msg: Uint8Array): void {
  t.b.push(msg.slice());
}

export function appendC(t: ConnectionTranscript, msg: Uint8Array): void {
  t.c.push(msg.slice());
}

/** Appends to the session's M when a session is given, else to the connection's. */
export function appendM(
  t: ConnectionTranscript,
  msg: Uint8Array,
  session?: SessionTranscript,
): void {
  (session ?? t).m.push(msg.slice());
}

export function resetB(t: ConnectionTranscript): void {
  t.b.length = 0;
}

export function resetC(t: ConnectionTranscript): void {
  t.c.length = 0;
}

export function resetM(t: ConnectionTranscript, session?: SessionTranscript): void {
  (session ?? t).m.length = 0;
}

/** GET_VERSION: everything starts over. */
export function resetAll(t: ConnectionTranscript): void {
  Object.assign(t, connectionTranscript());
}

/**
 * libspdm_reset_message_buffer_via_request_code: what a request does to B, C and M
 * before it is processed.
 * @param authenticated the connection state is AUTHENTICATED (a CHALLENGE completed)
 * @param session the session the request arrived in, if any
 */
export function resetForRequest(
  t: ConnectionTranscript,
  code: number,
  authenticated: boolean,
  session?: SessionTranscript,
): void {
  if (code !== SPDM_GET_MEASUREMENTS) resetM(t, session);
  switch (code) {
    case SPDM_KEY_EXCHANGE:
    case SPDM_GET_MEASUREMENTS:
    case SPDM_FINISH:
    case SPDM_PSK_EXCHANGE:
    case SPDM_PSK_FINISH:
    case SPDM_KEY_UPDATE:
    case SPDM_HEARTBEAT:
    case SPDM_GET_ENCAPSULATED_REQUEST:
    case SPDM_END_SESSION:
    case SPDM_DELIVER_ENCAPSULATED_RESPONSE:
      if (!authenticated) {
        resetB(t);
        resetC(t);
      }
      break;
    case SPDM_GET_DIGESTS:
      resetB(t);
      break;
    default:
      break;
  }
}

/** A as one buffer. */
export function messageA(t: ConnectionTranscript): Uint8Array {
  return concat(...t.a);
}

/** M1/M2 = A || B || C. */
export function m1m2(t: ConnectionTranscript): Uint8Array {
  return concat(...t.a, ...t.b, ...t.c);
}

/** L1/L2 = A || M (1.2+) or M (1.0/1.1), with the session's M inside a session. */
export function l1l2(t: ConnectionTranscript, session?: SessionTranscript): Uint8Array {
  const m = session ? session.m : t.m;
  return t.version >= SPDM_VERSION_12 ? concat(...t.a, ...m) : concat(...m);
}

/** @throws RangeError before ALGORITHMS (no hash negotiated yet). */
export function m1m2Hash(t: ConnectionTranscript): Uint8Array {
  return digest(needHash(t), m1m2(t));
}

/** @throws RangeError before ALGORITHMS. */
export function l1l2Hash(t: ConnectionTranscript, session?: SessionTranscript): Uint8Array {
  return digest(needHash(t), l1l2(t, session));
}

/**
 * A session transcript starting from the current A (and D for DHE sessions).
 * @param certChainHash Hash of the responder's chain buffer (absent for PSK sessions)
 * @throws RangeError before ALGORITHMS.
 */
export function startSession(
  t: ConnectionTranscript,
  certChainHash?: Uint8Array,
): SessionTranscript {
  const d = certChainHash && t.multiKeyConn ? t.d : undefined;
  return sessionTranscript(needHash(t), messageA(t), certChainHash, d);
}

function needHash(t: ConnectionTranscript): HashAlg {
  if (!t.hash) throw new RangeError('transcript: no hash algorithm negotiated yet');
  return t.hash;
}
