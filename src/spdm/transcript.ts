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
 *
 * B and M are bounded, as libspdm bounds them when it records transcript data
 * (LIBSPDM_MAX_MESSAGE_B_BUFFER_SIZE, _M_): GET_CERTIFICATE or unsigned GET_MEASUREMENTS
 * repeated without a reset would otherwise grow them for ever. An append that would pass
 * the bound throws TranscriptFullError; the responder answers ERROR(Unspecified) as
 * libspdm's handlers do when libspdm_append_message_b/_m fails, and the buffer stays as it
 * was until a request resets it.
 *
 * The arrays only ever grow by push; a reset puts a new empty array in place rather than
 * emptying the old one. So a mark (each array and its length) taken before a request is
 * enough to roll the request back: truncate the marked arrays and put them back
 * (markTranscript / rollBackTranscript, O(1) whatever the transcript holds).
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

/**
 * Most bytes B holds: DIGESTS for 8 slots and a whole 1.2 chain (Length is a u16, so at
 * most 0xFFFF bytes) read in portions down to 512 bytes (16 header bytes a portion) come
 * to about 68 KiB, libspdm's bound (24 + H * 8 + chain size) with room for small portions.
 */
export const MESSAGE_B_MAX_SIZE = 0x20000;

/**
 * Most bytes M holds (per connection, and per session): every block of a large
 * measurement record fetched one at a time, unsigned, before the signed one.
 */
export const MESSAGE_M_MAX_SIZE = 0x100000;

/** An append to B or M would pass its bound (MESSAGE_B_MAX_SIZE / MESSAGE_M_MAX_SIZE). */
export class TranscriptFullError extends Error {
  override readonly name = 'TranscriptFullError';
  constructor(
    readonly buffer: 'B' | 'M',
    readonly limit: number,
  ) {
    super(
      `transcript: message ${buffer} would pass its ${limit}-byte bound (${buffer === 'B' ? 'GET_DIGESTS' : 'a request other than GET_MEASUREMENTS'} or GET_VERSION starts it over)`,
    );
  }
}

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
  /** Bytes in `m` (bounded by MESSAGE_M_MAX_SIZE). */
  mSize: number;
}

/** The per-connection transcript: A, B, C and the connection's M. */
export interface ConnectionTranscript {
  a: Uint8Array[];
  b: Uint8Array[];
  c: Uint8Array[];
  m: Uint8Array[];
  /** Bytes in `b` (bounded by MESSAGE_B_MAX_SIZE). */
  bSize: number;
  /** Bytes in `m` (bounded by MESSAGE_M_MAX_SIZE). */
  mSize: number;
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
    bSize: 0,
    mSize: 0,
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
    mSize: 0,
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

/** @throws TranscriptFullError when B would pass MESSAGE_B_MAX_SIZE (B is left as it was). */
export function appendB(t: ConnectionTranscript, msg: Uint8Array): void {
  if (t.bSize + msg.length > MESSAGE_B_MAX_SIZE) {
    throw new TranscriptFullError('B', MESSAGE_B_MAX_SIZE);
  }
  t.b.push(msg.slice());
  t.bSize += msg.length;
}

export function appendC(t: ConnectionTranscript, msg: Uint8Array): void {
  t.c.push(msg.slice());
}

/**
 * Appends to the session's M when a session is given, else to the connection's.
 * @throws TranscriptFullError when M would pass MESSAGE_M_MAX_SIZE (M is left as it was).
 */
export function appendM(
  t: ConnectionTranscript,
  msg: Uint8Array,
  session?: SessionTranscript,
): void {
  const into = session ?? t;
  if (into.mSize + msg.length > MESSAGE_M_MAX_SIZE) {
    throw new TranscriptFullError('M', MESSAGE_M_MAX_SIZE);
  }
  into.m.push(msg.slice());
  into.mSize += msg.length;
}

// Resets put new arrays in place (see the file header: marks keep the old ones).

export function resetB(t: ConnectionTranscript): void {
  t.b = [];
  t.bSize = 0;
}

export function resetC(t: ConnectionTranscript): void {
  t.c = [];
}

export function resetM(t: ConnectionTranscript, session?: SessionTranscript): void {
  const from = session ?? t;
  from.m = [];
  from.mSize = 0;
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

/** Where a connection transcript stood: each array and its length (see the file header). */
export interface TranscriptMark {
  a: Uint8Array[];
  aLength: number;
  b: Uint8Array[];
  bLength: number;
  bSize: number;
  c: Uint8Array[];
  cLength: number;
  m: Uint8Array[];
  mLength: number;
  mSize: number;
  d: Uint8Array | undefined;
  hash: HashAlg | undefined;
  version: number;
  multiKeyConn: boolean;
}

/** Where a session's M stood. */
export interface SessionTranscriptMark {
  m: Uint8Array[];
  mLength: number;
  mSize: number;
}

/** Marks `t` in O(1), to roll back to with rollBackTranscript. */
export function markTranscript(t: ConnectionTranscript): TranscriptMark {
  return {
    a: t.a,
    aLength: t.a.length,
    b: t.b,
    bLength: t.b.length,
    bSize: t.bSize,
    c: t.c,
    cLength: t.c.length,
    m: t.m,
    mLength: t.m.length,
    mSize: t.mSize,
    d: t.d,
    hash: t.hash,
    version: t.version,
    multiKeyConn: t.multiKeyConn,
  };
}

/**
 * Puts `t` back where `mark` found it: what was appended since is dropped, what was reset
 * since comes back (the marked arrays were only ever pushed to).
 */
export function rollBackTranscript(t: ConnectionTranscript, mark: TranscriptMark): void {
  mark.a.length = mark.aLength;
  mark.b.length = mark.bLength;
  mark.c.length = mark.cLength;
  mark.m.length = mark.mLength;
  t.a = mark.a;
  t.b = mark.b;
  t.bSize = mark.bSize;
  t.c = mark.c;
  t.m = mark.m;
  t.mSize = mark.mSize;
  t.d = mark.d;
  t.hash = mark.hash;
  t.version = mark.version;
  t.multiKeyConn = mark.multiKeyConn;
}

/** Marks a session's M in O(1). */
export function markSessionTranscript(s: SessionTranscript): SessionTranscriptMark {
  return { m: s.m, mLength: s.m.length, mSize: s.mSize };
}

/** Puts a session's M back where `mark` found it. */
export function rollBackSessionTranscript(s: SessionTranscript, mark: SessionTranscriptMark): void {
  mark.m.length = mark.mLength;
  s.m = mark.m;
  s.mSize = mark.mSize;
}
