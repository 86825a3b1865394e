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
 * Messages are kept whole (plain arrays of bytes), so a transcript is plain data that a
 * world snapshot can copy; hashes are computed when asked for.
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
export class SessionTranscript {
  /** A as it was when the session started (A cannot change while a session lives). */
  readonly messageA: Uint8Array;
  /** D (1.3 MULTI_KEY_CONN_RSP, DHE sessions only), else empty. */
  readonly messageD: Uint8Array;
  /** Hash of the responder's certificate chain buffer; undefined for PSK sessions. */
  readonly certChainHash: Uint8Array | undefined;
  /** Hash of the requester's chain (mutual authentication), inserted before F. */
  reqCertChainHash: Uint8Array | undefined;
  readonly k: Uint8Array[] = [];
  readonly f: Uint8Array[] = [];
  readonly m: Uint8Array[] = [];

  constructor(
    readonly hash: HashAlg,
    messageA: Uint8Array,
    certChainHash?: Uint8Array,
    messageD?: Uint8Array,
  ) {
    this.messageA = messageA.slice();
    this.messageD = messageD?.slice() ?? new Uint8Array();
    this.certChainHash = certChainHash?.slice();
  }

  appendK(msg: Uint8Array): void {
    this.k.push(msg.slice());
  }

  appendF(msg: Uint8Array): void {
    this.f.push(msg.slice());
  }

  appendM(msg: Uint8Array): void {
    this.m.push(msg.slice());
  }

  resetM(): void {
    this.m.length = 0;
  }

  /** A || [D] || Hash(Cert) || K || [Hash(ReqCert) || F] as it stands. */
  bytes(): Uint8Array {
    const parts = [this.messageA, this.messageD];
    if (this.certChainHash) parts.push(this.certChainHash);
    parts.push(...this.k);
    if (this.f.length && this.reqCertChainHash) parts.push(this.reqCertChainHash);
    parts.push(...this.f);
    return concat(...parts);
  }

  /** Hash of `bytes()`: TH1 after the signature (and before VerifyData), TH2 after FINISH_RSP. */
  thHash(): Uint8Array {
    return digest(this.hash, this.bytes());
  }
}

/** The per-connection transcript: A, B, C and the connection's M. */
export class ConnectionTranscript {
  readonly a: Uint8Array[] = [];
  readonly b: Uint8Array[] = [];
  readonly c: Uint8Array[] = [];
  readonly m: Uint8Array[] = [];
  /** BaseHashSel, known once ALGORITHMS has been exchanged. */
  hash: HashAlg | undefined;
  /** The negotiated SPDMVersion byte (decides whether L1/L2 includes A). */
  version = 0;
  /** SPDM 1.3 MULTI_KEY_CONN_RSP was negotiated: D goes into session transcripts. */
  multiKeyConn = false;
  /** D: the last DIGESTS response (kept only when multiKeyConn). */
  d: Uint8Array | undefined;

  appendA(msg: Uint8Array): void {
    this.a.push(msg.slice());
  }

  /** Records a DIGESTS response as D (libspdm keeps it only with MULTI_KEY_CONN_RSP). */
  setD(digests: Uint8Array): void {
    if (this.multiKeyConn) this.d = digests.slice();
  }

  appendB(msg: Uint8Array): void {
    this.b.push(msg.slice());
  }

  appendC(msg: Uint8Array): void {
    this.c.push(msg.slice());
  }

  /** Appends to the session's M when a session is given, else to the connection's. */
  appendM(msg: Uint8Array, session?: SessionTranscript): void {
    if (session) session.appendM(msg);
    else this.m.push(msg.slice());
  }

  resetB(): void {
    this.b.length = 0;
  }

  resetC(): void {
    this.c.length = 0;
  }

  resetM(session?: SessionTranscript): void {
    if (session) session.resetM();
    else this.m.length = 0;
  }

  /** GET_VERSION: everything starts over. */
  resetAll(): void {
    this.a.length = 0;
    this.b.length = 0;
    this.c.length = 0;
    this.m.length = 0;
    this.hash = undefined;
    this.version = 0;
    this.multiKeyConn = false;
    this.d = undefined;
  }

  /**
   * libspdm_reset_message_buffer_via_request_code: what a request does to B, C and M
   * before it is processed.
   * @param authenticated the connection state is AUTHENTICATED (a CHALLENGE completed)
   * @param session the session the request arrived in, if any
   */
  resetForRequest(code: number, authenticated: boolean, session?: SessionTranscript): void {
    if (code !== SPDM_GET_MEASUREMENTS) this.resetM(session);
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
          this.resetB();
          this.resetC();
        }
        break;
      case SPDM_GET_DIGESTS:
        this.resetB();
        break;
      default:
        break;
    }
  }

  /** A as one buffer. */
  messageA(): Uint8Array {
    return concat(...this.a);
  }

  /** M1/M2 = A || B || C. */
  m1m2(): Uint8Array {
    return concat(...this.a, ...this.b, ...this.c);
  }

  /** L1/L2 = A || M (1.2+) or M (1.0/1.1), with the session's M inside a session. */
  l1l2(session?: SessionTranscript): Uint8Array {
    const m = session ? session.m : this.m;
    return this.version >= SPDM_VERSION_12 ? concat(...this.a, ...m) : concat(...m);
  }

  /** @throws RangeError before ALGORITHMS (no hash negotiated yet). */
  m1m2Hash(): Uint8Array {
    return digest(this.needHash(), this.m1m2());
  }

  /** @throws RangeError before ALGORITHMS. */
  l1l2Hash(session?: SessionTranscript): Uint8Array {
    return digest(this.needHash(), this.l1l2(session));
  }

  /**
   * A session transcript starting from the current A (and D for DHE sessions).
   * @param certChainHash Hash of the responder's chain buffer (absent for PSK sessions)
   * @throws RangeError before ALGORITHMS.
   */
  startSession(certChainHash?: Uint8Array): SessionTranscript {
    const d = certChainHash && this.multiKeyConn ? this.d : undefined;
    return new SessionTranscript(this.needHash(), this.messageA(), certChainHash, d);
  }

  private needHash(): HashAlg {
    if (!this.hash) throw new RangeError('transcript: no hash algorithm negotiated yet');
    return this.hash;
  }
}
