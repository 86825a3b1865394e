/**
 * Known answers for the transcripts: the exact messages libspdm logged, fed to
 * the connection and session transcripts in order with the reset rules applied, give the
 * same M1/M2, L1/L2, TH1 and TH2 hashes both libspdm peers logged, in the same order, for
 * the three captures (DOE 1.3, DOE 1.2, MCTP 1.3) and both sides' logs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digest } from '../../src/crypto/hash.ts';
import {
  appendA,
  appendB,
  appendC,
  appendF,
  appendK,
  appendM,
  connectionTranscript,
  l1l2,
  l1l2Hash,
  m1m2Hash,
  resetAll,
  resetB,
  resetC,
  resetForRequest,
  resetM,
  type SessionTranscript,
  setD,
  startSession,
  thBytes,
  thHash,
} from '../../src/spdm/transcript.ts';
import { concat, toHex } from '../../src/wire/hex.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { exactLogEntries } from './libspdm-log.ts';

const H = 48; // SHA-384 in every capture
const S = 96; // ECDSA P-384

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);

interface Checkpoint {
  name: string;
  value: string;
}

/** Replays a log through the transcript code as a libspdm endpoint would, collecting hashes. */
function replay(
  capture: Capture,
  side: 'requester' | 'responder',
): { computed: Checkpoint[]; logged: Checkpoint[] } {
  const file = `${capture}.${side}.log`;
  const entries = exactLogEntries(capture, side);
  const t = connectionTranscript();
  const computed: Checkpoint[] = [];
  const logged: Checkpoint[] = [];
  const chains = new Map<number, Uint8Array[]>();
  const sessions = new Map<number, SessionTranscript>();
  let pending: { s: SessionTranscript; req: Uint8Array } | undefined;
  let authenticated = false;
  let rspCaps = 0;
  let negotiate: Uint8Array = new Uint8Array(8);
  let lastRequest: Uint8Array = new Uint8Array(4);
  const push = (name: string, v: Uint8Array) => computed.push({ name, value: toHex(v) });

  for (const e of entries) {
    if (e.kind === 'hash') {
      if (e.name !== 'th_curr hash') logged.push({ name: e.name, value: toHex(e.value) });
      continue;
    }
    const m = e.bytes;
    const code = m[1];
    const session = e.sessionId ? sessions.get(e.sessionId) : undefined;
    if (e.request) {
      lastRequest = m;
      if (code === C.SPDM_GET_VERSION) {
        resetAll(t);
        authenticated = false;
        sessions.clear();
      } else {
        resetForRequest(t, code, authenticated, session);
      }
    }
    switch (code) {
      case C.SPDM_GET_VERSION:
      case C.SPDM_VERSION:
      case C.SPDM_GET_CAPABILITIES:
        appendA(t, m);
        break;
      case C.SPDM_CAPABILITIES:
        appendA(t, m);
        rspCaps = (m[8] | (m[9] << 8) | (m[10] << 16) | (m[11] << 24)) >>> 0;
        break;
      case C.SPDM_NEGOTIATE_ALGORITHMS:
        appendA(t, m);
        negotiate = m;
        break;
      case C.SPDM_ALGORITHMS:
        appendA(t, m);
        t.hash = 'sha384';
        t.version = m[0];
        // MULTI_KEY_CONN_RSP: the responder's MULTI_KEY_CAP is "only" (01b), or "negotiated"
        // (10b) and the requester set MultiKeyConn (OtherParamsSupport bit 4).
        t.multiKeyConn =
          m[0] >= C.SPDM_VERSION_13 &&
          ((rspCaps & C.SPDM_CAP.MULTI_KEY_CAP_ONLY) !== 0 ||
            ((rspCaps & C.SPDM_CAP.MULTI_KEY_CAP_NEG) !== 0 && (negotiate[7] & 0x10) !== 0));
        break;
      case C.SPDM_GET_DIGESTS:
      case C.SPDM_GET_CERTIFICATE:
        if (!session) appendB(t, m);
        break;
      case C.SPDM_DIGESTS:
        if (!session) appendB(t, m);
        setD(t, m);
        break;
      case C.SPDM_CERTIFICATE: {
        if (!session) appendB(t, m);
        const slot = lastRequest[2] & 0xf;
        const offset = u16(lastRequest, 4);
        const parts = offset === 0 ? [] : (chains.get(slot) ?? []);
        parts.push(m.subarray(8, 8 + u16(m, 4)));
        chains.set(slot, parts);
        break;
      }
      case C.SPDM_CHALLENGE:
        appendC(t, m);
        break;
      case C.SPDM_CHALLENGE_AUTH:
        appendC(t, m.subarray(0, m.length - S));
        push('m1m2 hash', m1m2Hash(t));
        resetB(t);
        resetC(t);
        authenticated = true;
        break;
      case C.SPDM_GET_MEASUREMENTS:
        appendM(t, m, session);
        break;
      case C.SPDM_MEASUREMENTS:
        if (lastRequest[2] & C.SPDM_MEAS_ATTR_SIGNATURE_REQUESTED) {
          appendM(t, m.subarray(0, m.length - S), session);
          push('l1l2 hash', l1l2Hash(t, session));
          resetM(t, session);
        } else {
          appendM(t, m, session);
        }
        break;
      case C.SPDM_KEY_EXCHANGE: {
        const chain = concat(...(chains.get(m[3] & 0xf) ?? []));
        assert.ok(chain.length > 0, `${file}:${e.line}: chain of slot ${m[3]} was read`);
        pending = { s: startSession(t, digest('sha384', chain)), req: m };
        appendK(pending.s, m);
        break;
      }
      case C.SPDM_PSK_EXCHANGE:
        pending = { s: startSession(t), req: m };
        appendK(pending.s, m);
        break;
      case C.SPDM_KEY_EXCHANGE_RSP:
      case C.SPDM_PSK_EXCHANGE_RSP: {
        assert.ok(pending, 'exchange request seen');
        // Both responses end in VerifyData here (no HANDSHAKE_IN_THE_CLEAR in the captures).
        appendK(pending.s, m.subarray(0, m.length - H));
        push('th1 hash', thHash(pending.s));
        appendK(pending.s, m.subarray(m.length - H));
        const id = ((u16(m, 4) << 16) | u16(pending.req, 4)) >>> 0;
        sessions.set(id, pending.s);
        pending = undefined;
        break;
      }
      case C.SPDM_FINISH:
      case C.SPDM_PSK_FINISH:
        assert.ok(session, `${file}:${e.line}: FINISH in a known session`);
        appendF(session, m);
        break;
      case C.SPDM_FINISH_RSP:
      case C.SPDM_PSK_FINISH_RSP:
        assert.ok(session);
        appendF(session, m);
        push('th2 hash', thHash(session));
        break;
      default:
        break;
    }
  }
  return { computed, logged };
}

type Capture = 'doe-spdm13-session' | 'v12' | 'mctp';
const CAPTURES: Capture[] = ['doe-spdm13-session', 'v12', 'mctp'];

describe('transcripts against libspdm logs', () => {
  for (const capture of CAPTURES)
    for (const side of ['requester', 'responder'] as const) {
      it(`${capture}.${side}.log: every m1m2 / l1l2 / th1 / th2 hash, in order`, () => {
        const { computed, logged } = replay(capture, side);
        assert.ok(logged.length >= 5, 'the log has transcript hashes');
        assert.deepEqual(computed, logged);
      });
    }
});

describe('transcript rules', () => {
  const msg = (...b: number[]) => Uint8Array.from(b);
  const withA = () => {
    const t = connectionTranscript();
    appendA(t, msg(0x10, 0x84, 0, 0));
    t.hash = 'sha256';
    t.version = C.SPDM_VERSION_12;
    return t;
  };

  it('GET_DIGESTS resets B; GET_MEASUREMENTS keeps M, anything else resets it', () => {
    const t = withA();
    appendB(t, msg(1));
    resetForRequest(t, C.SPDM_GET_DIGESTS, false);
    assert.equal(t.b.length, 0);
    appendM(t, msg(2));
    resetForRequest(t, C.SPDM_GET_MEASUREMENTS, true);
    assert.equal(t.m.length, 1);
    resetForRequest(t, C.SPDM_GET_CERTIFICATE, true);
    assert.equal(t.m.length, 0);
  });

  it('session requests before authentication reset B and C, after it they do not', () => {
    const t = withA();
    appendB(t, msg(1));
    appendC(t, msg(2));
    resetForRequest(t, C.SPDM_KEY_EXCHANGE, true);
    assert.equal(t.b.length + t.c.length, 2);
    resetForRequest(t, C.SPDM_KEY_EXCHANGE, false);
    assert.equal(t.b.length + t.c.length, 0);
  });

  it('a request inside a session resets that session M, not the connection M', () => {
    const t = withA();
    const s = startSession(t, new Uint8Array(32));
    appendM(t, msg(1));
    appendM(t, msg(2), s);
    resetForRequest(t, C.SPDM_HEARTBEAT, true, s);
    assert.equal(t.m.length, 1);
    assert.equal(s.m.length, 0);
  });

  it('L1/L2 carries A from 1.2 on, not in 1.1', () => {
    const t = withA();
    appendM(t, msg(9));
    assert.equal(toHex(l1l2(t)), '1084000009');
    t.version = C.SPDM_VERSION_11;
    assert.equal(toHex(l1l2(t)), '09');
  });

  it('TH = A || Hash(Cert) || K || F; PSK sessions have no Hash(Cert)', () => {
    const t = withA();
    const dhe = startSession(t, Uint8Array.of(0xcc));
    appendK(dhe, msg(0xe4));
    appendF(dhe, msg(0xe5));
    assert.equal(toHex(thBytes(dhe)), '10840000cce4e5');
    const psk = startSession(t);
    appendK(psk, msg(0xe6));
    assert.equal(toHex(thBytes(psk)), '10840000e6');
    assert.equal(toHex(thHash(psk)), toHex(digest('sha256', thBytes(psk))));
  });

  it('GET_VERSION resets everything, and hashes need ALGORITHMS first', () => {
    const t = withA();
    appendB(t, msg(1));
    resetAll(t);
    assert.equal(t.a.length + t.b.length, 0);
    assert.throws(() => m1m2Hash(t), RangeError);
  });
});
