/**
 * Issue 15, part 3: a peer that misuses the cryptography, as a table. Each row names the
 * misuse, the spec's reaction (DSP0274 ERROR code or the requester's failed check, DSP0277
 * record handling) and what becomes of the session, and runs it: against teeio's responder
 * (a scripted requester, test/spdm/scripted-requester.ts, builds the bad messages with the
 * codecs and keys by hand) and against teeio's requester (a device responder behind a
 * transport that corrupts one reply). TEEIO_PRINT_TABLE=1 prints the table.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { generateDeviceIdentity } from '../../src/crypto/cert-build.ts';
import { dheGenerate } from '../../src/crypto/dhe.ts';
import { verifyData } from '../../src/crypto/key-schedule.ts';
import { seededRandom } from '../../src/crypto/random.ts';
import { requesterConfig } from '../../src/spdm/config.ts';
import { SpdmErrorResponse, SpdmVerifyError } from '../../src/spdm/requester/errors.ts';
import { SpdmRequester } from '../../src/spdm/requester/requester.ts';
import {
  deriveDataKeys,
  deriveHandshakeKeys,
  establishSession,
  protect,
} from '../../src/spdm/session.ts';
import { createInProcessPair } from '../../src/transport/in-process.ts';
import { concat } from '../../src/wire/hex.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { buildSupportedVersionsOpaque } from '../../src/wire/spdm/opaque.ts';
import type { PskExchangeRsp } from '../../src/wire/spdm/psk.ts';
import type { TransportMessage } from '../../src/wire/transport.ts';
import { createTdispDevice, type TdispDevice } from '../../src/world/tdisp-device.ts';
import {
  certificateChain,
  establishedSession,
  finishRequest,
  keyExchange,
  PSK,
  setup,
  vca,
} from '../spdm/responder-support.ts';

const E = C.SPDM_ERROR_CODE;
const V13 = C.SPDM_VERSION_13;
const hdr = (code: number, p1 = 0, p2 = 0) => Uint8Array.of(V13, code, p1, p2);

interface Row {
  side: 'responder' | 'requester';
  misuse: string;
  reaction: string;
  session: string;
}
const table: Row[] = [];

after(() => {
  if (!process.env.TEEIO_PRINT_TABLE) return;
  const w = [9, 62, 44];
  console.log(
    ['side'.padEnd(w[0]), 'misuse'.padEnd(w[1]), 'reaction'.padEnd(w[2]), 'session'].join(' | '),
  );
  for (const r of table) {
    console.log(
      [r.side.padEnd(w[0]), r.misuse.padEnd(w[1]), r.reaction.padEnd(w[2]), r.session].join(' | '),
    );
  }
});

/** A row of the table and its test. */
function row(r: Row, run: () => void | Promise<void>): void {
  table.push(r);
  it(`${r.side}: ${r.misuse} -> ${r.reaction}; session ${r.session}`, run);
}

// ---------------------------------------------------------------------------------------
// teeio's responder, a requester misusing the cryptography.

/** VCA, the chain, KEY_EXCHANGE: a DHE session in its handshake phase. */
function handshake(binding: 'pci_doe' | 'mctp' = 'pci_doe') {
  const s = setup(binding);
  vca(s.r);
  const chain = certificateChain(s.r);
  const x = keyExchange(s.r, chain);
  return { ...s, chain, x };
}

const errorOf = (rsp: Uint8Array | undefined) => {
  assert.ok(rsp, 'an answer');
  assert.equal(rsp[1], C.SPDM_ERROR, `an ERROR (got 0x${rsp[1].toString(16)})`);
  return rsp[2];
};

/** The session still finishes with a correct FINISH (it was kept in its handshake). */
function finishStillWorks(h: ReturnType<typeof handshake>): void {
  const rsp = h.r.sendSecuredRaw(h.x.s, finishRequest(h.r, h.x));
  assert.equal(rsp?.[1], C.SPDM_FINISH_RSP);
}

/** KEY_EXCHANGE with `exchangeData` in place of a fresh public key. */
function keyExchangeWith(exchangeData: Uint8Array) {
  const s = setup();
  vca(s.r);
  certificateChain(s.r);
  const req = s.r.encode({
    version: V13,
    code: C.SPDM_KEY_EXCHANGE,
    measurementSummaryHashType: 0,
    slotId: 0,
    reqSessionId: 0x0202,
    sessionPolicy: 0,
    randomData: new Uint8Array(32),
    exchangeData,
    opaqueData: buildSupportedVersionsOpaque([0x1100], V13),
  } as never);
  return { ...s, rsp: s.r.sendRaw(req) };
}

describe('crypto misuse by the requester, against teeio responder', () => {
  row(
    {
      side: 'responder',
      misuse: 'FINISH RequesterVerifyData over the wrong transcript',
      reaction: 'ERROR DecryptError',
      session: 'torn down',
    },
    () => {
      const h = handshake();
      const header = hdr(C.SPDM_FINISH);
      // TH with one byte more than the real transcript.
      const vd = verifyData(
        h.x.schedule,
        h.x.hs.request.finishedKey,
        h.r.thHash(h.x.s, 'sha384', header, Uint8Array.of(0)),
      );
      assert.equal(errorOf(h.r.sendSecuredRaw(h.x.s, concat(header, vd))), E.DecryptError);
      assert.deepEqual(h.responder.sessions(), []);
    },
  );
  row(
    {
      side: 'responder',
      misuse: "FINISH VerifyData with the responder's finished key (wrong key schedule step)",
      reaction: 'ERROR DecryptError',
      session: 'torn down',
    },
    () => {
      const h = handshake();
      const header = hdr(C.SPDM_FINISH);
      const vd = verifyData(
        h.x.schedule,
        h.x.hs.response.finishedKey,
        h.r.thHash(h.x.s, 'sha384', header),
      );
      assert.equal(errorOf(h.r.sendSecuredRaw(h.x.s, concat(header, vd))), E.DecryptError);
      assert.deepEqual(h.responder.sessions(), []);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'FINISH sealed with data keys instead of handshake keys (wrong step)',
      reaction: 'ERROR DecryptError (the record does not open)',
      session: 'torn down',
    },
    () => {
      const h = handshake();
      const early = establishSession(deriveDataKeys(h.x.s.secured, h.r.thHash(h.x.s, 'sha384')));
      const rec = protect(early, finishRequest(h.r, h.x), seededRandom('early')).record;
      const out = h.responder.handle({ secured: true, bytes: rec });
      assert.ok(out?.secured, 'an answer in the session');
      assert.deepEqual(h.responder.sessions(), []);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'FINISH RequesterVerifyData truncated to H-1 bytes',
      reaction: 'ERROR InvalidRequest',
      session: 'kept (FINISH still completes it)',
    },
    () => {
      const h = handshake();
      const good = finishRequest(h.r, h.x);
      assert.equal(
        errorOf(h.r.sendSecuredRaw(h.x.s, good.subarray(0, good.length - 1))),
        E.InvalidRequest,
      );
      finishStillWorks(h);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'FINISH RequesterVerifyData oversized (H+1 bytes)',
      reaction: 'ERROR InvalidRequest',
      session: 'kept (FINISH still completes it)',
    },
    () => {
      const h = handshake();
      const good = finishRequest(h.r, h.x);
      assert.equal(
        errorOf(h.r.sendSecuredRaw(h.x.s, concat(good, Uint8Array.of(0)))),
        E.InvalidRequest,
      );
      finishStillWorks(h);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'FINISH with a signature though mutual auth was not asked for',
      reaction: 'ERROR InvalidRequest',
      session: 'kept (FINISH still completes it)',
    },
    () => {
      const h = handshake();
      const req = finishRequest(h.r, h.x);
      req[2] = 0x01; // Param1 bit 0: signature included
      const withSig = concat(req.subarray(0, 4), new Uint8Array(96), req.subarray(4));
      assert.equal(errorOf(h.r.sendSecuredRaw(h.x.s, withSig)), E.InvalidRequest);
      finishStillWorks(h);
    },
  );
  for (const [what, cut] of [
    ['truncated (15-byte tag)', -1],
    ['oversized (17-byte tag)', 1],
  ] as const) {
    /** An established session and a HEARTBEAT record of it with its tag cut or grown. */
    const badTag = (fixLength: boolean) => {
      const h = setup();
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      const pre = x.s.secured;
      const rec = h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT));
      const bad = cut < 0 ? rec.slice(0, rec.length - 1) : concat(rec, Uint8Array.of(0));
      // DOE record: SessionID(4) Length(2) (ciphertext and tag), the rest.
      if (fixLength) {
        const dv = new DataView(bad.buffer, bad.byteOffset);
        dv.setUint16(4, dv.getUint16(4, true) + cut, true);
      }
      return { ...h, x, pre, out: h.responder.handle({ secured: true, bytes: bad }) };
    };
    row(
      {
        side: 'responder',
        misuse: `secured record MAC ${what}, Length adjusted to it`,
        reaction: 'ERROR DecryptError (the MAC does not verify)',
        session: 'torn down',
      },
      () => {
        const h = badTag(true);
        assert.ok(h.out?.secured, 'ERROR in the session');
        assert.equal(errorOf(h.r.open(h.x.s, h.out.bytes)), E.DecryptError);
        assert.deepEqual(h.responder.sessions(), []);
      },
    );
    row(
      {
        side: 'responder',
        misuse: `secured record MAC ${what}, Length not matching the bytes`,
        reaction: 'dropped as malformed, no answer',
        session: 'kept (the next record is answered)',
      },
      () => {
        const h = badTag(false);
        assert.equal(h.out, undefined);
        // The responder's counter did not move: a record with the same sequence number,
        // whole this time, opens and is answered.
        h.x.s.secured = h.pre;
        const rsp = h.r.sendSecuredRaw(h.x.s, hdr(C.SPDM_HEARTBEAT));
        assert.equal(rsp?.[1], C.SPDM_HEARTBEAT_ACK);
        assert.equal(h.responder.sessions().length, 1);
      },
    );
  }
  row(
    {
      side: 'responder',
      misuse: 'replayed secured record (DOE: implicit sequence number)',
      reaction: 'ERROR DecryptError',
      session: 'torn down',
    },
    () => {
      const h = setup();
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      const rec = h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT));
      const ok = h.responder.handle({ secured: true, bytes: rec });
      assert.equal(h.r.open(x.s, ok!.bytes)[1], C.SPDM_HEARTBEAT_ACK);
      const replay = h.responder.handle({ secured: true, bytes: rec });
      assert.equal(errorOf(h.r.open(x.s, replay!.bytes)), E.DecryptError);
      assert.deepEqual(h.responder.sessions(), []);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'MCTP record with a sequence number out of order (one skipped)',
      reaction: 'dropped, no answer',
      session: 'kept',
    },
    () => {
      const h = setup('mctp');
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT)); // sealed, never sent: the next one skips a number
      const skipped = h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT));
      assert.equal(h.responder.handle({ secured: true, bytes: skipped }), undefined);
      assert.equal(h.responder.sessions().length, 1);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'two secured records swapped (DOE: implicit sequence number)',
      reaction: 'ERROR DecryptError to the early one',
      session: 'torn down',
    },
    () => {
      const h = setup();
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      const first = h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT));
      const second = h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT));
      // The second record arrives first: sealed under the next counter, it does not open.
      const rsp = h.responder.handle({ secured: true, bytes: second });
      assert.ok(rsp?.secured);
      assert.deepEqual(h.responder.sessions(), []);
      assert.equal(h.responder.handle({ secured: true, bytes: first }), undefined);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'two secured records swapped (MCTP: explicit sequence number)',
      reaction: 'the early one dropped, no answer; the other answered',
      session: 'kept',
    },
    () => {
      const h = setup('mctp');
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      const first = h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT));
      const second = h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT));
      assert.equal(h.responder.handle({ secured: true, bytes: second }), undefined);
      const ok = h.responder.handle({ secured: true, bytes: first });
      assert.equal(h.r.open(x.s, ok!.bytes)[1], C.SPDM_HEARTBEAT_ACK);
      assert.equal(h.responder.sessions().length, 1);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'KEY_UPDATE with an unknown KeyOperation (7)',
      reaction: 'ERROR InvalidRequest',
      session: 'kept (the next request is answered under the old keys)',
    },
    () => {
      const h = setup();
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      assert.equal(
        errorOf(h.r.sendSecuredRaw(x.s, hdr(C.SPDM_KEY_UPDATE, 7, 1))),
        E.InvalidRequest,
      );
      assert.equal(h.r.sendSecuredRaw(x.s, hdr(C.SPDM_HEARTBEAT))?.[1], C.SPDM_HEARTBEAT_ACK);
      assert.equal(h.responder.sessions().length, 1);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'KEY_UPDATE VerifyNewKey before any UpdateKey',
      reaction: 'ERROR InvalidRequest',
      session: 'kept (the next request is answered under the old keys)',
    },
    () => {
      const h = setup();
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      const verify = C.SPDM_KEY_UPDATE_OP.VerifyNewKey;
      assert.equal(
        errorOf(h.r.sendSecuredRaw(x.s, hdr(C.SPDM_KEY_UPDATE, verify, 1))),
        E.InvalidRequest,
      );
      assert.equal(h.r.sendSecuredRaw(x.s, hdr(C.SPDM_HEARTBEAT))?.[1], C.SPDM_HEARTBEAT_ACK);
      assert.equal(h.responder.sessions().length, 1);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'KEY_UPDATE in the clear (outside any session)',
      reaction: 'ERROR SessionRequired',
      session: 'the open session kept',
    },
    () => {
      const h = setup();
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      const up = C.SPDM_KEY_UPDATE_OP.UpdateKey;
      assert.equal(errorOf(h.r.sendRaw(hdr(C.SPDM_KEY_UPDATE, up, 1))), E.SessionRequired);
      assert.equal(h.r.sendSecuredRaw(x.s, hdr(C.SPDM_HEARTBEAT))?.[1], C.SPDM_HEARTBEAT_ACK);
      assert.equal(h.responder.sessions().length, 1);
    },
  );
  row(
    {
      side: 'responder',
      misuse:
        'sequence number at its limit (wrap): not modelled on the wire; DSP0277: a counter never wraps, the session ends (or keys update) first',
      reaction: 'sealing refused (RangeError) at 2^53-1, not 2^64-1',
      session: 'no further record under those keys',
    },
    () => {
      const h = setup();
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      type Keyed = { traffic: { request: { seq: number } } };
      const st = x.s.secured as unknown as Keyed;
      const at = (seq: number) =>
        ({
          ...st,
          traffic: { ...st.traffic, request: { ...st.traffic.request, seq } },
        }) as unknown as typeof x.s.secured;
      const rng = seededRandom('seq-limit');
      protect(at(Number.MAX_SAFE_INTEGER - 1), hdr(C.SPDM_HEARTBEAT), rng);
      assert.throws(
        () => protect(at(Number.MAX_SAFE_INTEGER), hdr(C.SPDM_HEARTBEAT), rng),
        /sequence number overflow/,
      );
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'secured record with a session id that is not open',
      reaction: 'dropped, no answer',
      session: 'kept (the next record is answered)',
    },
    () => {
      const h = setup();
      vca(h.r);
      const x = establishedSession(h.r, certificateChain(h.r));
      const rec = h.r.seal(x.s, hdr(C.SPDM_HEARTBEAT));
      const wrong = rec.slice();
      wrong[0] ^= 0x01;
      assert.equal(h.responder.handle({ secured: true, bytes: wrong }), undefined);
      const ok = h.responder.handle({ secured: true, bytes: rec });
      assert.equal(h.r.open(x.s, ok!.bytes)[1], C.SPDM_HEARTBEAT_ACK);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'KEY_EXCHANGE ExchangeData not on the curve (secp384r1)',
      reaction: 'ERROR InvalidRequest',
      session: 'not opened',
    },
    () => {
      const kp = dheGenerate('secp384r1', seededRandom('point'));
      const bad = kp.exchangeData.slice();
      bad[95] ^= 0x01; // y off by one: not on the curve
      const s = keyExchangeWith(bad);
      assert.equal(errorOf(s.rsp), E.InvalidRequest);
      assert.deepEqual(s.responder.sessions(), []);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'KEY_EXCHANGE ExchangeData all zeros (the identity / no point)',
      reaction: 'ERROR InvalidRequest',
      session: 'not opened',
    },
    () => {
      const s = keyExchangeWith(new Uint8Array(96));
      assert.equal(errorOf(s.rsp), E.InvalidRequest);
      assert.deepEqual(s.responder.sessions(), []);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'KEY_EXCHANGE with a secp256r1 point on a secp384r1 connection',
      reaction: 'ERROR InvalidRequest',
      session: 'not opened',
    },
    () => {
      const p256 = dheGenerate('secp256r1', seededRandom('p256')).exchangeData;
      // The 64-byte point where 96 bytes belong, padded so the layout still parses.
      const s = keyExchangeWith(concat(p256, new Uint8Array(32)));
      assert.equal(errorOf(s.rsp), E.InvalidRequest);
      assert.deepEqual(s.responder.sessions(), []);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'PSK_FINISH in a KEY_EXCHANGE session (CVE-2023-31127)',
      reaction: 'ERROR UnexpectedRequest',
      session: 'kept (FINISH still completes it)',
    },
    () => {
      const h = handshake();
      const header = hdr(C.SPDM_PSK_FINISH);
      const vd = verifyData(
        h.x.schedule,
        h.x.hs.request.finishedKey,
        h.r.thHash(h.x.s, 'sha384', header),
      );
      assert.equal(errorOf(h.r.sendSecuredRaw(h.x.s, concat(header, vd))), E.UnexpectedRequest);
      finishStillWorks(h);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'FINISH in a PSK session (CVE-2023-31127)',
      reaction: 'ERROR UnexpectedRequest',
      session: 'kept (in its handshake)',
    },
    () => {
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
      s.k.push(px.rsp.verifyData);
      const header = hdr(C.SPDM_FINISH);
      const vd = verifyData(
        schedule,
        keyed.handshake.request.finishedKey,
        r.thHash(s, 'sha384', header),
      );
      assert.equal(errorOf(r.sendSecuredRaw(s, concat(header, vd))), E.UnexpectedRequest);
      assert.deepEqual(responder.sessions(), [{ sessionId: sid, kind: 'psk', phase: 'handshake' }]);
    },
  );
  row(
    {
      side: 'responder',
      misuse: 'NEGOTIATE_ALGORITHMS with no hash / signature the responder has',
      reaction: 'ERROR InvalidRequest',
      session: '- (connection stays AFTER_CAPABILITIES)',
    },
    () => {
      const { r, responder } = setup();
      vca(r, { stopAfterCapabilities: true });
      const na = r.encode({
        version: V13,
        code: C.SPDM_NEGOTIATE_ALGORITHMS,
        measurementSpecification: C.SPDM_MEASUREMENT_SPEC_DMTF,
        otherParamsSupport: C.SPDM_OPAQUE_DATA_FMT_1,
        baseAsymAlgo: C.SPDM_ASYM.TPM_ALG_RSASSA_2048,
        baseHashAlgo: C.SPDM_HASH.TPM_ALG_SHA3_512,
        melSpecification: 0,
        extAsym: [],
        extHash: [],
        algStructs: [],
      } as never);
      assert.equal(errorOf(r.sendRaw(na)), E.InvalidRequest);
      assert.equal(responder.state.state, 'AFTER_CAPABILITIES');
    },
  );
});

// ---------------------------------------------------------------------------------------
// teeio's requester, a responder misusing the cryptography.

type Tamper = (m: TransportMessage, code: number | undefined) => TransportMessage | undefined;

/**
 * A device and a requester on a responder connection of it whose replies pass through
 * `tamper` (given the plain response code; undefined for secured records).
 */
async function tampered(
  tamper: Tamper,
  o: { dev?: TdispDevice; trust?: Uint8Array } = {},
): Promise<{ rq: SpdmRequester; dev: TdispDevice }> {
  const dev = o.dev ?? (await device());
  const responder = dev.newResponder('pci_doe');
  const t = createInProcessPair('pci_doe', async (m) => {
    const out = responder.handle(m);
    if (!out) return out;
    return tamper(out, out.secured ? undefined : out.bytes[1]) ?? out;
  });
  const rq = new SpdmRequester(t, requesterConfig({ trustAnchors: [o.trust ?? dev.root] }), {
    retries: 0,
  });
  return { rq, dev };
}

let shared: Promise<TdispDevice> | undefined;
const device = () => {
  shared ??= createTdispDevice({ random: seededRandom('crypto misuse') });
  return shared;
};

/** `m` with byte `at` (negative: from the end) flipped. */
function flip(m: TransportMessage, at: number): TransportMessage {
  const bytes = m.bytes.slice();
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] ^= 0x01;
  return { ...m, bytes };
}

/** Only the first reply with `code` is tampered with. */
function first(code: number, f: (m: TransportMessage) => TransportMessage): Tamper {
  let done = false;
  return (m, c) => {
    if (done || c !== code) return undefined;
    done = true;
    return f(m);
  };
}

async function failsCheck(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(
      e instanceof SpdmVerifyError,
      `SpdmVerifyError, got ${(e as Error).name}: ${(e as Error).message}`,
    );
    assert.equal(e.what, what, e.message);
    return true;
  });
}

const H = 48; // SHA-384

describe('crypto misuse by the responder, against teeio requester', () => {
  const authed = async (rq: SpdmRequester) => {
    await rq.connect();
    await rq.getDigests();
    await rq.getCertificate(0);
  };
  row(
    {
      side: 'requester',
      misuse: 'CHALLENGE_AUTH signature altered',
      reaction: 'check challenge-signature fails',
      session: '-',
    },
    async () => {
      const { rq } = await tampered(first(C.SPDM_CHALLENGE_AUTH, (m) => flip(m, -10)));
      await authed(rq);
      await failsCheck(rq.challenge(0), 'challenge-signature');
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'CHALLENGE_AUTH replayed from an earlier CHALLENGE (other transcript)',
      reaction: 'check response fails (1.3 RequesterContext not echoed)',
      session: '-',
    },
    async () => {
      let saved: TransportMessage | undefined;
      const { rq } = await tampered((m, c) => {
        if (c !== C.SPDM_CHALLENGE_AUTH) return undefined;
        if (!saved) {
          saved = m;
          return undefined;
        }
        return saved;
      });
      await authed(rq);
      await rq.challenge(0);
      // At 1.3 the stale RequesterContext gives it away before the signature is checked.
      await failsCheck(rq.challenge(0), 'response');
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'MEASUREMENTS signature altered',
      reaction: 'check measurements-signature fails',
      session: '-',
    },
    async () => {
      const { rq } = await tampered(first(C.SPDM_MEASUREMENTS, (m) => flip(m, -10)));
      await authed(rq);
      await failsCheck(rq.getMeasurements({ signed: true }), 'measurements-signature');
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'KEY_EXCHANGE_RSP signature altered',
      reaction: 'check key-exchange-signature fails',
      session: 'not opened',
    },
    async () => {
      const { rq } = await tampered(first(C.SPDM_KEY_EXCHANGE_RSP, (m) => flip(m, -H - 10)));
      await authed(rq);
      await failsCheck(rq.startSession(), 'key-exchange-signature');
      assert.equal(rq.stateSnapshot().sessions.size, 0);
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'KEY_EXCHANGE_RSP ResponderVerifyData altered',
      reaction: 'check key-exchange-verify-data fails',
      session: 'not opened',
    },
    async () => {
      const { rq } = await tampered(first(C.SPDM_KEY_EXCHANGE_RSP, (m) => flip(m, -5)));
      await authed(rq);
      await failsCheck(rq.startSession(), 'key-exchange-verify-data');
      assert.equal(rq.stateSnapshot().sessions.size, 0);
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'KEY_EXCHANGE_RSP ExchangeData not on the curve',
      reaction: 'check key-exchange-signature fails (it covers the point)',
      session: 'not opened',
    },
    async () => {
      // ExchangeData follows header(4) RspSessionID(2) MutAuth(1) SlotID(1) Random(32).
      const { rq } = await tampered(first(C.SPDM_KEY_EXCHANGE_RSP, (m) => flip(m, 40 + 95)));
      await authed(rq);
      await failsCheck(rq.startSession(), 'key-exchange-signature');
      assert.equal(rq.stateSnapshot().sessions.size, 0);
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'FINISH_RSP record with its MAC truncated (Length adjusted)',
      reaction: 'check secured-record fails',
      session: 'dropped',
    },
    async () => {
      let secured = 0;
      const { rq } = await tampered((m) => {
        if (!m.secured || secured++ > 0) return undefined;
        // Its Length says one byte less too: DOE pads an object to a dword with zeros, so a
        // record merely one byte short whose MAC ended in 0x00 would arrive whole again (one
        // run in 256: the keys are random).
        const bytes = m.bytes.slice(0, m.bytes.length - 1);
        const dv = new DataView(bytes.buffer, bytes.byteOffset);
        dv.setUint16(4, dv.getUint16(4, true) - 1, true);
        return { ...m, bytes };
      });
      await authed(rq);
      await failsCheck(rq.startSession(), 'secured-record');
      assert.equal(rq.stateSnapshot().sessions.size, 0);
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'a secured response replayed (the previous record again)',
      reaction: 'check secured-record fails',
      session: 'dropped',
    },
    async () => {
      let last: TransportMessage | undefined;
      let n = 0;
      const { rq } = await tampered((m) => {
        if (!m.secured) return undefined;
        n++;
        if (n === 3 && last) return last;
        last = m;
        return undefined;
      });
      await authed(rq);
      const s = await rq.startSession(); // record 1: FINISH_RSP
      await rq.sendRaw(hdr(C.SPDM_GET_DIGESTS), s); // record 2
      await failsCheck(rq.sendRaw(hdr(C.SPDM_GET_DIGESTS), s), 'secured-record');
      assert.equal(rq.stateSnapshot().sessions.size, 0);
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'secured response under another session id',
      reaction: 'check secured-record fails',
      session: 'dropped',
    },
    async () => {
      let n = 0;
      const { rq } = await tampered((m) => {
        if (!m.secured || n++ !== 1) return undefined;
        return flip(m, 0);
      });
      await authed(rq);
      const s = await rq.startSession();
      await failsCheck(rq.sendRaw(hdr(C.SPDM_GET_DIGESTS), s), 'secured-record');
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'certificate chain with a bad RootHash',
      reaction: 'chain check fails',
      session: '-',
    },
    async () => {
      // CERTIFICATE: header(4) PortionLength(2) RemainderLength(2), then the chain's
      // Length(2) Reserved(2) RootHash(H).
      const { rq } = await tampered(first(C.SPDM_CERTIFICATE, (m) => flip(m, 12)));
      await rq.connect();
      await rq.getDigests();
      await assert.rejects(rq.getCertificate(0), (e) => {
        assert.ok(e instanceof SpdmVerifyError, String(e));
        assert.match(e.what, /cert/);
        return true;
      });
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'certificate chain from a root the requester does not trust',
      reaction: 'check certificate-chain fails',
      session: '-',
    },
    async () => {
      const other = await generateDeviceIdentity({ rng: seededRandom('other root') });
      const { rq } = await tampered(() => undefined, { trust: other.root.certificate });
      await rq.connect();
      await rq.getDigests();
      await failsCheck(rq.getCertificate(0), 'certificate-chain');
    },
  );
  for (const [what, opts] of [
    [
      'an expired leaf',
      {
        notBefore: new Date(Date.UTC(2001, 0, 1)),
        notAfter: new Date(Date.UTC(2002, 0, 1)),
      },
    ],
    ['a leaf with the requester EKU only (wrong EKU)', { role: 'requester' as const }],
  ] as const) {
    row(
      {
        side: 'requester',
        misuse: `certificate chain with ${what}`,
        reaction: 'check certificate-chain fails',
        session: '-',
      },
      async () => {
        const id = await generateDeviceIdentity({ ...opts, name: 'misuse' });
        const dev = await createTdispDevice({
          identity: { certChain: id.certificates, privateKey: id.leaf.privateKey },
          random: seededRandom(what),
        });
        const { rq } = await tampered(() => undefined, { dev });
        await rq.connect();
        await rq.getDigests();
        await failsCheck(rq.getCertificate(0), 'certificate-chain');
      },
    );
  }
  row(
    {
      side: 'requester',
      misuse: 'ALGORITHMS selects a hash the requester did not offer',
      reaction: 'check algorithms fails',
      session: '-',
    },
    async () => {
      // ALGORITHMS: BaseHashSel at bytes 16..19; SHA3-512 (0x20) is not offered.
      const { rq } = await tampered(
        first(C.SPDM_ALGORITHMS, (m) => {
          const bytes = m.bytes.slice();
          new DataView(bytes.buffer).setUint32(16, C.SPDM_HASH.TPM_ALG_SHA3_512, true);
          return { ...m, bytes };
        }),
      );
      await failsCheck(rq.connect(), 'algorithms');
    },
  );
  row(
    {
      side: 'requester',
      misuse: 'ERROR DecryptError answered to FINISH',
      reaction: 'SpdmErrorResponse DecryptError',
      session: 'dropped',
    },
    async () => {
      let n = 0;
      const dev = await device();
      const responder = dev.newResponder('pci_doe');
      const t = createInProcessPair('pci_doe', async (m) => {
        const out = responder.handle(m);
        // FINISH comes sealed: answer it with a plain ERROR(DecryptError).
        if (m.secured && n++ === 0)
          return { secured: false, bytes: Uint8Array.of(V13, C.SPDM_ERROR, E.DecryptError, 0) };
        return out;
      });
      const rq = new SpdmRequester(t, requesterConfig({ trustAnchors: [dev.root] }), {
        retries: 0,
      });
      await authed(rq);
      await assert.rejects(
        rq.startSession(),
        (e) => e instanceof SpdmErrorResponse || e instanceof SpdmVerifyError,
      );
      assert.equal(rq.stateSnapshot().sessions.size, 0);
    },
  );
});
