/**
 * What SpdmResponder refuses, and that a refusal changes nothing: out-of-order requests
 * (UnexpectedRequest), malformed ones (InvalidRequest), unknown codes (UnsupportedRequest),
 * a wrong version byte (VersionMismatch), session-only requests in the clear
 * (SessionRequired), a tampered FINISH VerifyData (DecryptError, session torn down),
 * tampered / replayed records and wrong session ids, PSK_FINISH in a DHE session and FINISH
 * in a PSK session (CVE-2023-31127), and random bytes in every state (never a throw).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { digest } from '../../src/crypto/hash.ts';
import { verifyData } from '../../src/crypto/key-schedule.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import { SPDM_SIGNING_CONTEXT, spdmVerify } from '../../src/crypto/signing.ts';
import { deriveHandshakeKeys, protect, unprotect } from '../../src/spdm/session.ts';
import { concat } from '../../src/wire/hex.ts';
import type { ChallengeAuth } from '../../src/wire/spdm/challenge.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { buildSupportedVersionsOpaque } from '../../src/wire/spdm/opaque.ts';
import type { PskExchangeRsp } from '../../src/wire/spdm/psk.ts';
import {
  certificateChain,
  establishedSession,
  finishRequest,
  keyExchange,
  PSK,
  setup,
  vca,
} from './responder-support.ts';

const E = C.SPDM_ERROR_CODE;
const V13 = C.SPDM_VERSION_13;
const stateOf = (x: { state: { state: string } }): string => x.state.state;
const hdr = (version: number, code: number, p1 = 0, p2 = 0) => Uint8Array.of(version, code, p1, p2);

describe('SpdmResponder refuses out-of-order, malformed and unsupported requests', () => {
  it('before and during VCA: UnexpectedRequest / InvalidRequest / VersionMismatch, state kept', () => {
    const { r, responder } = setup();
    r.expectError(hdr(V13, C.SPDM_GET_DIGESTS), E.UnexpectedRequest);
    r.expectError(hdr(V13, C.SPDM_GET_CAPABILITIES), E.UnexpectedRequest);
    assert.equal(stateOf(responder), 'NOT_STARTED');
    const mm = r.expectError(hdr(0x11, C.SPDM_GET_VERSION), E.VersionMismatch);
    assert.equal(mm.version, 0x10, 'an ERROR before negotiation is at 1.0');
    vca(r, { stopAfterCapabilities: true });
    assert.equal(stateOf(responder), 'AFTER_CAPABILITIES');
    // GET_DIGESTS before NEGOTIATE_ALGORITHMS.
    r.expectError(hdr(V13, C.SPDM_GET_DIGESTS), E.UnexpectedRequest);
    // A truncated NEGOTIATE_ALGORITHMS (Length says 32, only 20 bytes).
    const na = new Uint8Array(20);
    na.set([V13, C.SPDM_NEGOTIATE_ALGORITHMS, 0, 0, 32, 0]);
    r.expectError(na, E.InvalidRequest);
    r.expectError(hdr(0x12, C.SPDM_GET_DIGESTS), E.VersionMismatch);
    assert.equal(stateOf(responder), 'AFTER_CAPABILITIES');
  });

  it('after negotiation: each refusal, then the transcripts are intact (CHALLENGE verifies)', () => {
    const { r, responder, identity } = setup();
    vca(r);
    const d = r.exchange({ version: V13, code: C.SPDM_GET_DIGESTS });
    r.b.push(d.reqBytes, d.rspBytes);
    const chain = certificateChain(r);

    // Unknown code, a response code, a 2-byte message, a wrong version byte.
    assert.equal(r.expectError(hdr(V13, 0x85), E.UnsupportedRequest).errorData, 0x85);
    r.expectError(hdr(V13, C.SPDM_DIGESTS), E.UnsupportedRequest);
    // Shorter than a header (DOE would pad it to one, so straight to the engine).
    const short = responder.handle({
      secured: false,
      bytes: Uint8Array.of(V13, C.SPDM_GET_DIGESTS),
    });
    assert.deepEqual([...short!.bytes.subarray(1, 3)], [C.SPDM_ERROR, E.InvalidRequest]);
    r.expectError(hdr(C.SPDM_VERSION_12, C.SPDM_GET_DIGESTS), E.VersionMismatch);
    // Malformed or impossible GET_CERTIFICATE / CHALLENGE / GET_MEASUREMENTS.
    // Truncated (straight to the engine: DOE would pad the missing bytes with zeros).
    const direct = (bytes: Uint8Array) => responder.handle({ secured: false, bytes })!.bytes;
    assert.deepEqual(
      [...direct(concat(hdr(V13, C.SPDM_GET_CERTIFICATE), Uint8Array.of(0, 0))).subarray(1, 3)],
      [C.SPDM_ERROR, E.InvalidRequest],
    );
    assert.deepEqual(
      [...direct(concat(hdr(V13, C.SPDM_CHALLENGE), new Uint8Array(30))).subarray(1, 3)],
      [C.SPDM_ERROR, E.InvalidRequest],
    );
    r.expectError(
      concat(hdr(V13, C.SPDM_GET_CERTIFICATE, 3), Uint8Array.of(0, 0, 0x10, 0)),
      E.InvalidRequest,
    );
    r.expectError(
      concat(hdr(V13, C.SPDM_GET_CERTIFICATE), Uint8Array.of(0xff, 0xff, 0x10, 0)),
      E.InvalidRequest,
    );
    r.expectError(concat(hdr(V13, C.SPDM_CHALLENGE, 0, 5), new Uint8Array(40)), E.InvalidRequest);
    r.expectError(
      concat(hdr(V13, C.SPDM_GET_MEASUREMENTS, 0, 0x40), new Uint8Array(8)),
      E.InvalidRequest,
    );
    // Session-only requests in the clear, RESPOND_IF_READY with nothing pending.
    r.expectError(hdr(V13, C.SPDM_HEARTBEAT), E.SessionRequired);
    r.expectError(hdr(V13, C.SPDM_KEY_UPDATE, 1, 1), E.SessionRequired);
    r.expectError(hdr(V13, C.SPDM_END_SESSION), E.SessionRequired);
    // FINISH in the clear without HANDSHAKE_IN_THE_CLEAR is session-only too (DSP0274 1.2+).
    r.expectError(concat(hdr(V13, C.SPDM_FINISH), new Uint8Array(48)), E.SessionRequired);
    r.expectError(hdr(V13, C.SPDM_RESPOND_IF_READY), E.UnexpectedRequest);
    // KEY_EXCHANGE: no common DSP0277 version; a point not on the curve.
    const ke = (opaque: Uint8Array, point: Uint8Array) =>
      r.encode({
        version: V13,
        code: C.SPDM_KEY_EXCHANGE,
        measurementSummaryHashType: 0,
        slotId: 0,
        reqSessionId: 1,
        sessionPolicy: 0,
        randomData: new Uint8Array(32),
        exchangeData: point,
        opaqueData: opaque,
      });
    r.expectError(
      ke(buildSupportedVersionsOpaque([0x2000], V13), new Uint8Array(96).fill(1)),
      E.InvalidRequest,
    );
    r.expectError(
      ke(buildSupportedVersionsOpaque([0x1100], V13), new Uint8Array(96).fill(1)),
      E.InvalidRequest,
    );
    // PSK_EXCHANGE with a hint nobody knows.
    r.expectError(
      r.encode({
        version: V13,
        code: C.SPDM_PSK_EXCHANGE,
        measurementSummaryHashType: 0,
        sessionPolicy: 0,
        reqSessionId: 2,
        pskHint: Uint8Array.of(1, 2, 3),
        requesterContext: new Uint8Array(32),
        opaqueData: buildSupportedVersionsOpaque([0x1100], V13),
      }),
      E.InvalidRequest,
    );
    // VENDOR_DEFINED: an unregistered protocol, and a handler that answers InvalidRequest.
    const vdm = (protocolId: number) =>
      r.encode({
        version: V13,
        code: C.SPDM_VENDOR_DEFINED_REQUEST,
        standardId: C.SPDM_REGISTRY_ID_PCISIG,
        vendorId: Uint8Array.of(1, 0),
        payload: Uint8Array.of(protocolId, 0),
      });
    r.expectError(vdm(0x7f), E.UnsupportedRequest);
    r.expectError(vdm(C.PCI_PROTOCOL_ID_IDE_KM), E.InvalidRequest);
    // TDISP in the clear: the handler says nothing, so the responder says nothing.
    assert.equal(r.sendRaw(vdm(C.PCI_PROTOCOL_ID_TDISP)), undefined);

    assert.equal(stateOf(responder), 'NEGOTIATED');
    assert.deepEqual(responder.sessions(), []);
    // None of that reached B: the CHALLENGE signature over the requester's A || B || C holds.
    const ch = r.exchange<ChallengeAuth>({
      version: V13,
      code: C.SPDM_CHALLENGE,
      slotId: 0,
      measurementSummaryHashType: 0,
      nonce: new Uint8Array(32),
      requesterContext: new Uint8Array(8),
    });
    const m1 = concat(
      ...r.a,
      ...r.b,
      ch.reqBytes,
      ch.rspBytes.subarray(0, ch.rspBytes.length - 96),
    );
    const leaf = new X509Certificate(Buffer.from(identity.certificates.at(-1)!)).publicKey;
    const p = {
      asym: 'ecdsa-p384',
      hash: 'sha384',
      version: V13,
      context: SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH,
    } as const;
    assert.ok(spdmVerify(p, leaf, m1, ch.rsp.signature));
    assert.equal(toLen(chain), chain.length);
  });
});

const toLen = (b: Uint8Array) => b.length;

describe('SpdmResponder refuses what would break a session', () => {
  it('tampered FINISH VerifyData: DecryptError in the session, which is torn down', () => {
    const { r, responder, events } = setup();
    vca(r);
    const chain = certificateChain(r);
    const x = keyExchange(r, chain);
    const before = stateOf(responder);
    const rsp = r.sendSecuredRaw(x.s, finishRequest(r, x, true));
    assert.ok(rsp);
    assert.deepEqual([...rsp.subarray(0, 3)], [V13, C.SPDM_ERROR, E.DecryptError]);
    assert.deepEqual(responder.sessions(), []);
    assert.equal(stateOf(responder), before);
    assert.ok(
      events.some(
        (e) => e.type === 'session' && e.phase === 'ended' && e.cause === 'finish-failed',
      ),
    );
    // The torn-down session answers nothing any more.
    assert.equal(r.sendSecuredRaw(x.s, finishRequest(r, x)), undefined);
  });

  it('PSK_FINISH in a DHE session is UnexpectedRequest and changes nothing; FINISH still works', () => {
    const { r, responder } = setup();
    vca(r);
    const chain = certificateChain(r);
    const x = keyExchange(r, chain);
    r.expectError(
      concat(hdr(V13, C.SPDM_PSK_FINISH), new Uint8Array(48)),
      E.UnexpectedRequest,
      x.s,
    );
    r.expectError(hdr(V13, C.SPDM_HEARTBEAT), E.UnexpectedRequest, x.s);
    assert.deepEqual(responder.sessions(), [{ sessionId: x.sid, kind: 'dhe', phase: 'handshake' }]);
    const req = finishRequest(r, x);
    const rsp = r.sendSecuredRaw(x.s, req);
    assert.equal(rsp?.[1], C.SPDM_FINISH_RSP);
  });

  it('FINISH in a PSK session is UnexpectedRequest', () => {
    const { r, responder } = setup();
    vca(r);
    const px = r.exchange<PskExchangeRsp>({
      version: V13,
      code: C.SPDM_PSK_EXCHANGE,
      measurementSummaryHashType: 0,
      sessionPolicy: 0,
      reqSessionId: 9,
      pskHint: PSK.hint,
      requesterContext: new Uint8Array(48),
      opaqueData: buildSupportedVersionsOpaque([0x1100], V13),
    });
    const sid = ((px.rsp.rspSessionId << 16) | 9) >>> 0;
    const schedule = { version: V13, hash: 'sha384' as const, aeadKeySize: 32 };
    const s = r.openSession(sid, 'psk', schedule, 'aes-256-gcm');
    s.k.push(px.reqBytes, px.rspBytes.subarray(0, px.rspBytes.length - 48));
    const keyed = deriveHandshakeKeys(s.secured, PSK.psk, r.thHash(s, 'sha384'));
    s.secured = keyed;
    const hs = keyed.handshake;
    s.k.push(px.rsp.verifyData);
    // A FINISH with the "right" VerifyData for this transcript is still refused.
    const header = hdr(V13, C.SPDM_FINISH);
    const vd = verifyData(schedule, hs.request.finishedKey, r.thHash(s, 'sha384', header));
    r.expectError(concat(header, vd), E.UnexpectedRequest, s);
    assert.deepEqual(responder.sessions(), [{ sessionId: sid, kind: 'psk', phase: 'handshake' }]);
  });

  for (const binding of ['pci_doe', 'mctp'] as const) {
    it(`${binding}: tampered ciphertext, replayed record, wrong session id`, () => {
      const { r, responder } = setup(binding);
      vca(r);
      const chain = certificateChain(r);
      const x = establishedSession(r, chain);
      const heartbeat = hdr(V13, C.SPDM_HEARTBEAT);
      const send = (bytes: Uint8Array) => responder.handle({ secured: true, bytes });
      // Wrong session id: no answer, the session carries on.
      const rec = r.seal(x.s, heartbeat);
      const wrongId = rec.slice();
      wrongId[2] ^= 0x40;
      assert.equal(send(wrongId), undefined);
      const ok = send(rec);
      assert.ok(ok?.secured);
      assert.equal(r.open(x.s, ok.bytes)[1], C.SPDM_HEARTBEAT_ACK);
      // Replayed record.
      const replay = send(rec);
      if (binding === 'mctp') {
        // MCTP: the header sequence number is stale, libspdm drops the record; the session lives.
        assert.equal(replay, undefined);
        const again = send(r.seal(x.s, heartbeat));
        assert.equal(r.open(x.s, again!.bytes)[1], C.SPDM_HEARTBEAT_ACK);
      } else {
        // DOE: the implicit counter makes the MAC fail: DecryptError, then the session ends.
        assert.ok(replay?.secured);
        const err = r.open(x.s, replay.bytes);
        assert.deepEqual([...err.subarray(1, 3)], [C.SPDM_ERROR, E.DecryptError]);
        assert.deepEqual(responder.sessions(), []);
        return;
      }
      // Tampered ciphertext: DecryptError sealed in the session, then the session ends.
      const t = r.seal(x.s, heartbeat);
      t[t.length - 17] ^= 0x80;
      const out = send(t);
      assert.ok(out?.secured);
      assert.deepEqual([...r.open(x.s, out.bytes).subarray(1, 3)], [C.SPDM_ERROR, E.DecryptError]);
      assert.deepEqual(responder.sessions(), []);
      assert.equal(stateOf(responder), 'NEGOTIATED');
    });
  }

  it('mctp: PLDM GetTID in a session is answered as PLDM; an MCTP type no one serves is traced, unanswered', () => {
    const { r, responder, events } = setup('mctp');
    vca(r);
    const x = establishedSession(r, certificateChain(r));
    const sendApp = (mctpType: number, body: Uint8Array) => {
      const sealed = protect(x.s.secured, body, seededRandom('app'), { mctpType });
      x.s.secured = sealed.session;
      return responder.handle({ secured: true, bytes: sealed.record });
    };
    // PLDM GetTID (MCTP message type 0x01), as spdm-emu's requester sends in its APP step:
    // Rq=1 instance 0 | Hdr Ver 0, type 0 | GetTID 0x02.
    const out = sendApp(0x01, Uint8Array.of(0x80, 0x00, 0x02));
    assert.ok(out?.secured);
    const opened = unprotect(x.s.secured, out.bytes);
    x.s.secured = opened.session;
    assert.equal(opened.mctpType, 0x01, 'answered as a PLDM message');
    // Rq=0 instance 0 | type 0 | GetTID | SUCCESS | TID 1 (spdm-emu's responder's TID).
    assert.deepEqual([...opened.message], [0x00, 0x00, 0x02, 0x00, 0x01]);
    const app = events.filter((e) => e.type === 'application');
    assert.deepEqual(
      app.map((e) => e.type === 'application' && [e.direction, e.name, e.mctpType]),
      [
        ['in', 'PLDM GetTID', 1],
        ['out', 'PLDM GetTID', 1],
      ],
    );
    // NC-SI over MCTP (type 0x02): nothing here serves it.
    assert.equal(sendApp(0x02, Uint8Array.of(0x01, 0x02, 0x03)), undefined);
    const rejected = events.filter((e) => e.type === 'record-rejected');
    assert.deepEqual(
      rejected.map((e) => e.type === 'record-rejected' && e.reason),
      ['unsupported-application'],
    );
    // The session goes on.
    assert.equal(r.sendSecuredRaw(x.s, hdr(V13, C.SPDM_HEARTBEAT))?.[1], C.SPDM_HEARTBEAT_ACK);
  });

  it('mctp: a responder configured without a PLDM terminus treats PLDM as unsupported', () => {
    const { r, responder, events } = setup('mctp', { pldm: undefined });
    vca(r);
    const x = establishedSession(r, certificateChain(r));
    const sealed = protect(x.s.secured, Uint8Array.of(0x80, 0x00, 0x02), seededRandom('pldm'), {
      mctpType: 0x01,
    });
    x.s.secured = sealed.session;
    assert.equal(responder.handle({ secured: true, bytes: sealed.record }), undefined);
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'record-rejected' ? [e.reason] : [])),
      ['unsupported-application'],
    );
    assert.equal(r.sendSecuredRaw(x.s, hdr(V13, C.SPDM_HEARTBEAT))?.[1], C.SPDM_HEARTBEAT_ACK);
  });

  it('inside an established session: VCA and CHALLENGE refused, bad KEY_UPDATE refused', () => {
    const { r, responder } = setup();
    vca(r);
    const chain = certificateChain(r);
    const x = establishedSession(r, chain);
    r.expectError(hdr(0x10, C.SPDM_GET_VERSION), E.UnexpectedRequest, x.s);
    r.expectError(concat(hdr(V13, C.SPDM_CHALLENGE), new Uint8Array(40)), E.UnexpectedRequest, x.s);
    r.expectError(
      hdr(V13, C.SPDM_KEY_UPDATE, C.SPDM_KEY_UPDATE_OP.VerifyNewKey, 1),
      E.InvalidRequest,
      x.s,
    );
    r.expectError(hdr(V13, C.SPDM_KEY_UPDATE, 9, 1), E.InvalidRequest, x.s);
    assert.deepEqual(responder.sessions(), [
      { sessionId: x.sid, kind: 'dhe', phase: 'established' },
    ]);
    assert.equal(r.sendSecuredRaw(x.s, hdr(V13, C.SPDM_HEARTBEAT))?.[1], C.SPDM_HEARTBEAT_ACK);
  });

  it('SessionLimitExceeded beyond maxSessions', () => {
    const { r } = setup('pci_doe', { maxSessions: 1 });
    vca(r);
    const chain = certificateChain(r);
    keyExchange(r, chain, 1);
    const ke = r.encode({
      version: V13,
      code: C.SPDM_KEY_EXCHANGE,
      measurementSummaryHashType: 0,
      slotId: 0,
      reqSessionId: 2,
      sessionPolicy: 0,
      randomData: new Uint8Array(32),
      exchangeData: new Uint8Array(96),
      opaqueData: buildSupportedVersionsOpaque([0x1100], V13),
    });
    r.expectError(ke, E.SessionLimitExceeded);
  });

  it('GET_VERSION ends every session and restarts the connection', () => {
    const { r, responder } = setup();
    vca(r);
    const chain = certificateChain(r);
    establishedSession(r, chain);
    assert.equal(responder.sessions().length, 1);
    r.a.length = 0;
    vca(r);
    assert.deepEqual(responder.sessions(), []);
    assert.equal(stateOf(responder), 'NEGOTIATED');
    assert.equal(digest('sha384', chain).length, 48);
  });
});

describe('SpdmResponder never throws on peer bytes', () => {
  it('random and mutated messages in every connection state', () => {
    const { r, responder } = setup();
    const valid: Uint8Array[] = [];
    vca(r);
    valid.push(...r.a);
    const chain = certificateChain(r);
    valid.push(...r.b);
    const x = establishedSession(r, chain);
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.nat(255)).map(([b, at, v]) => {
        const out = b.slice();
        if (out.length) out[at % out.length] = v;
        return out;
      }),
      fc
        .tuple(fc.constantFrom(...valid), fc.nat())
        .map(([b, n]) => b.subarray(0, n % (b.length + 1))),
    );
    fc.assert(
      fc.property(bytesArb, fc.boolean(), (bytes, secured) => {
        const rec = secured && bytes.length > 6 ? r.seal(x.s, bytes) : bytes;
        const out = responder.handle({ secured, bytes: rec });
        assert.ok(out === undefined || out.bytes instanceof Uint8Array);
      }),
      { numRuns: 1500, seed: 42 },
    );
  });
});
