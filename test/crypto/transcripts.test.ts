/**
 * libspdm's transcripts and signatures, recomputed from the captured bytes.
 *
 * What libspdm puts in each transcript, as these captures prove (SPDM 1.2 and 1.3):
 * - A (VCA) = GET_VERSION, VERSION, GET_CAPABILITIES, CAPABILITIES, NEGOTIATE_ALGORITHMS,
 *   ALGORITHMS, whole messages without transport padding.
 * - M1/M2 = A || B || C where B is every GET_DIGESTS/DIGESTS/GET_CERTIFICATE/CERTIFICATE
 *   since ALGORITHMS (both slot 0 and slot 4 chains of the 1.3 flow) and C = CHALLENGE ||
 *   CHALLENGE_AUTH without its signature. The DIGESTS/CERTIFICATE exchanges after the
 *   CHALLENGE are not in any later transcript: the completed CHALLENGE consumed B.
 * - L1/L2 = A || GET_MEASUREMENTS || MEASUREMENTS without signature: the GET_DIGESTS /
 *   GET_CERTIFICATE requests issued before GET_MEASUREMENTS reset the measurement log.
 * - Session TH = A || [D] || Hash(cert chain of the KEY_EXCHANGE slot) || KEY_EXCHANGE ||
 *   KEY_EXCHANGE_RSP ..., where D is the (first) DIGESTS response, present only at SPDM 1.3
 *   with MULTI_KEY_CONN_RSP (the 1.3 capture negotiates it, 1.2 cannot). The responder signs
 *   Hash(TH up to the signature); TH1 ends before VerifyData; TH2 adds FINISH and FINISH_RSP.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { digest } from '../../src/crypto/hash.ts';
import { hmac } from '../../src/crypto/kdf.ts';
import { SPDM_SIGNING_CONTEXT, spdmVerify, spdmVerifyHash } from '../../src/crypto/signing.ts';
import { bytesEqual, concat, toHex } from '../../src/wire/hex.ts';
import { type CaptureName, logValues } from '../support/captures.ts';
import { loggedSessions, one } from './session-log.ts';
import { capturedMessages, type Negotiated } from './transcript-capture.ts';

interface Case {
  capture: CaptureName;
  log: string;
  n: Negotiated;
}

const CASES: Case[] = [
  {
    capture: 'doe-spdm13-session.txt',
    log: 'doe-spdm13-session.requester.log',
    n: { version: 0x13, H: 48, S: 96, D: 96, multiKey: true },
  },
  {
    capture: 'v12.decoded.txt',
    log: 'v12.requester.log',
    n: { version: 0x12, H: 48, S: 96, D: 96, multiKey: false },
  },
];

const P = { asym: 'ecdsa-p384', hash: 'sha384' } as const;
const h = (...parts: Uint8Array[]) => digest('sha384', ...parts);

/** The DER certificates of an SPDM chain buffer (after length, reserved and root hash). */
function chainCerts(chain: Uint8Array, H: number): Uint8Array[] {
  const certs: Uint8Array[] = [];
  for (let o = 4 + H; o < chain.length; ) {
    assert.equal(chain[o], 0x30);
    assert.equal(chain[o + 1], 0x82, 'sample certificates use a two-byte DER length');
    const len = 4 + ((chain[o + 2] << 8) | chain[o + 3]);
    certs.push(chain.subarray(o, o + len));
    o += len;
  }
  return certs;
}

function analyse(c: Case) {
  const msgs = capturedMessages(c.capture, c.n).filter((m) => !m.secured || m.code !== 0xfe);
  const clear = msgs.filter((m) => !m.secured);
  const A = clear.slice(0, 6).map((m) => m.bytes);
  assert.deepEqual(
    clear.slice(0, 6).map((m) => m.code),
    [0x84, 0x04, 0xe1, 0x61, 0xe3, 0x63],
  );
  const idx = (code: number, from = 0) => clear.findIndex((m, i) => i >= from && m.code === code);
  const chal = idx(0x83);
  const B = clear.slice(6, chal).map((m) => m.bytes);
  const chains = new Map<number, Uint8Array>();
  for (const m of clear.slice(6, chal)) {
    if (m.code !== 0x02) continue;
    const slot = m.bytes[2] & 0xf;
    chains.set(slot, concat(chains.get(slot) ?? new Uint8Array(), m.bytes.subarray(8)));
  }
  const digests = clear[idx(0x01)].bytes;
  return { msgs, clear, A, B, chal, chains, digests, idx };
}

const sigOf = (m: Uint8Array, S: number, tail = 0) =>
  m.subarray(m.length - tail - S, m.length - tail);

for (const c of CASES) {
  describe(`transcripts of ${c.capture}`, () => {
    const { msgs, clear, A, B, chal, chains, digests, idx } = analyse(c);
    const { H, S } = c.n;
    const p = (context: string) => ({ ...P, version: c.n.version, context });
    const leafOf = (slot: number) => {
      const certs = chainCerts(chains.get(slot)!, H);
      return new X509Certificate(Buffer.from(certs[certs.length - 1]));
    };

    it('the chain buffers hash to the DIGESTS the responder sent', () => {
      for (const [slot, chain] of chains) {
        assert.equal((chain[0] | (chain[1] << 8)) >>> 0, chain.length, 'chain length field');
        const slots = [...Array(8).keys()].filter((s) => digests[3] & (1 << s));
        const at = 4 + slots.indexOf(slot) * H;
        assert.equal(toHex(h(chain)), toHex(digests.subarray(at, at + H)), `slot ${slot}`);
      }
    });

    it('M1/M2 = A || B || C, and CHALLENGE_AUTH verifies over it', () => {
      const auth = clear[chal + 1].bytes;
      const m1m2 = concat(...A, ...B, clear[chal].bytes, auth.subarray(0, auth.length - S));
      assert.equal(toHex(h(m1m2)), toHex(logValues(c.log, 'm1m2 hash')[0]));
      const sig = sigOf(auth, S);
      const leaf = leafOf(auth[2] & 0xf).publicKey;
      assert.ok(spdmVerify(p(SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH), leaf, m1m2, sig));
      assert.ok(spdmVerifyHash(p(SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH), leaf, h(m1m2), sig));
      // The wrong context string, or one flipped bit, and it no longer verifies.
      assert.ok(!spdmVerify(p(SPDM_SIGNING_CONTEXT.MEASUREMENTS), leaf, m1m2, sig));
      const bad = Uint8Array.from(sig);
      bad[5] ^= 1;
      assert.ok(!spdmVerify(p(SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH), leaf, m1m2, bad));
    });

    it('L1/L2 = A || GET_MEASUREMENTS || MEASUREMENTS, and MEASUREMENTS verifies over it', () => {
      const i = idx(0xe0);
      const meas = clear[i + 1].bytes;
      const l1l2 = concat(...A, clear[i].bytes, meas.subarray(0, meas.length - S));
      assert.equal(toHex(h(l1l2)), toHex(logValues(c.log, 'l1l2 hash')[0]));
      const leaf = leafOf(
        clear[i].bytes[clear[i].bytes.length - (c.n.version >= 0x13 ? 9 : 1)] & 0xf,
      );
      assert.ok(
        spdmVerify(p(SPDM_SIGNING_CONTEXT.MEASUREMENTS), leaf.publicKey, l1l2, sigOf(meas, S)),
      );
    });

    it('TH of every KEY_EXCHANGE: signature, TH1, VerifyData of both sides, TH2', () => {
      const thCurr = logValues(c.log, 'th_curr hash');
      const sessions = loggedSessions(c.log).filter((s) => s.values.has('DHE Secret'));
      const exchanges = msgs.filter((m) => m.code === 0xe4);
      assert.equal(exchanges.length, sessions.length);
      assert.ok(exchanges.length >= 2);
      exchanges.forEach((ke, n) => {
        const at = msgs.indexOf(ke);
        const rsp = msgs[at + 1].bytes;
        const slot = ke.bytes[3] & 0xf;
        const prefix = [...A, ...(c.n.multiKey ? [digests] : []), h(chains.get(slot)!), ke.bytes];
        const toSign = concat(...prefix, rsp.subarray(0, rsp.length - H - S));
        assert.equal(toHex(h(toSign)), toHex(thCurr[n]), `th_curr of exchange ${n}`);
        const sig = sigOf(rsp, S, H);
        const leaf = leafOf(slot).publicKey;
        assert.ok(
          spdmVerify(p(SPDM_SIGNING_CONTEXT.KEY_EXCHANGE_RSP), leaf, toSign, sig),
          `slot ${slot}`,
        );

        const s = sessions[n];
        const th1 = concat(...prefix, rsp.subarray(0, rsp.length - H));
        assert.equal(toHex(h(th1)), toHex(one(s, 'th1 hash')));
        // Responder VerifyData = HMAC(rsp finished_key, Hash(TH1)).
        assert.equal(
          toHex(hmac('sha384', one(s, 'finished_key', 1), h(th1))),
          toHex(rsp.subarray(rsp.length - H)),
        );

        const finish = msgs[at + 2];
        const finishRsp = msgs[at + 3];
        assert.deepEqual([finish.code, finishRsp.code], [0xe5, 0x65]);
        // Requester VerifyData = HMAC(req finished_key, Hash(TH1 || VerifyData || FINISH header)).
        const thFinish = concat(...prefix, rsp, finish.bytes.subarray(0, 4));
        const fin = hmac('sha384', one(s, 'finished_key', 0), h(thFinish));
        assert.ok(bytesEqual(fin, finish.bytes.subarray(4, 4 + H)), 'FINISH VerifyData');
        if (s.values.has('th2 hash')) {
          const th2 = concat(...prefix, rsp, finish.bytes, finishRsp.bytes);
          assert.equal(toHex(h(th2)), toHex(one(s, 'th2 hash')));
        }
      });
    });
  });
}
