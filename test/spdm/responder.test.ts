/**
 * SpdmResponder driven by a scripted requester through the real binding framing, with
 * libspdm's sample P-384 identity: VCA -> digests -> certificate (chunked by a small
 * DataTransferSize) -> challenge -> measurements (count, per index raw and digest, all
 * signed) -> KEY_EXCHANGE -> FINISH (encrypted, or in the clear) -> HEARTBEAT -> KEY_UPDATE
 * -> vendor-defined -> signed measurements inside the session -> END_SESSION, and a PSK
 * session. Every signature and VerifyData is checked with crypto/ over transcripts the test
 * keeps itself; the chain is verified against libspdm's ca.cert.der.
 */
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { verifyCertChain } from '../../src/crypto/cert-verify.ts';
import { dheGenerate, dheSharedSecret } from '../../src/crypto/dhe.ts';
import { digest } from '../../src/crypto/hash.ts';
import { type KeyScheduleParams, verifyData } from '../../src/crypto/key-schedule.ts';
import { SPDM_SIGNING_CONTEXT, spdmVerify } from '../../src/crypto/signing.ts';
import { sampleMeasurements } from '../../src/spdm/config.ts';
import {
  commitKeyUpdate,
  deriveDataKeys,
  deriveHandshakeKeys,
  establishSession,
  sessionSequence,
  updateKey,
} from '../../src/spdm/session.ts';
import { bytesEqual, concat, toHex } from '../../src/wire/hex.ts';
import type { SecuredBinding } from '../../src/wire/secured.ts';
import type { Certificate } from '../../src/wire/spdm/certificate.ts';
import type { ChallengeAuth } from '../../src/wire/spdm/challenge.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import type { Digests } from '../../src/wire/spdm/digests.ts';
import type { FinishRsp } from '../../src/wire/spdm/finish.ts';
import type { KeyExchangeRsp } from '../../src/wire/spdm/key-exchange.ts';
import type { KeyUpdateAck } from '../../src/wire/spdm/key-update.ts';
import {
  type DmtfMeasurementBlock,
  encodeMeasurementRecord,
  type Measurements,
} from '../../src/wire/spdm/measurements.ts';
import { buildSupportedVersionsOpaque } from '../../src/wire/spdm/opaque.ts';
import type { PskExchangeRsp } from '../../src/wire/spdm/psk.ts';
import type { VendorDefinedResponse } from '../../src/wire/spdm/vendor-defined.ts';
import { PSK, REQUESTER_CAPS, setup, vca } from './responder-support.ts';
import type { ScriptedRequester, ScriptedSession } from './scripted-requester.ts';

const H = 48;
const S = 96;
const P384 = {
  asym: 'ecdsa-p384' as const,
  hash: 'sha384' as const,
};

/** The chain buffer built independently: u16 length, u16 reserved, Hash(root), certs. */
function chainBuffer(certs: Uint8Array[]): Uint8Array {
  const body = concat(digest('sha384', certs[0]), ...certs);
  const out = new Uint8Array(4 + body.length);
  out[0] = out.length & 0xff;
  out[1] = out.length >> 8;
  out.set(body, 4);
  return out;
}

function leafKey(certs: Uint8Array[]) {
  return new X509Certificate(Buffer.from(certs[certs.length - 1])).publicKey;
}

/** The state tag (a function, so TypeScript does not narrow it across calls). */
const stateOf = (x: { state: { state: string } }): string => x.state.state;

const reqContext = (version: number) =>
  version >= C.SPDM_VERSION_13 ? Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) : undefined;

/** Reads the whole chain of slot 0 through GET_CERTIFICATE portions. */
function readChain(r: ScriptedRequester, maxPortion: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (;;) {
    const x = r.exchange<Certificate>({
      version: r.version,
      code: C.SPDM_GET_CERTIFICATE,
      slotId: 0,
      requestAttributes: 0,
      offset,
      length: 0xffff,
    });
    assert.ok(
      x.rsp.certChain.length <= maxPortion,
      `portion ${x.rsp.certChain.length} <= ${maxPortion}`,
    );
    r.b.push(x.reqBytes, x.rspBytes);
    parts.push(x.rsp.certChain);
    offset += x.rsp.certChain.length;
    if (x.rsp.remainderLength === 0) break;
  }
  return concat(...parts);
}

interface FlowOptions {
  binding: SecuredBinding;
  version: number;
  handshakeInTheClear: boolean;
}

function fullFlow(o: FlowOptions) {
  const caps = REQUESTER_CAPS | (o.handshakeInTheClear ? C.SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP : 0);
  const env = setup(o.binding, {
    capabilities:
      (setup().responder.config.capabilities |
        (o.handshakeInTheClear ? C.SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP : 0)) >>>
      0,
  });
  const { r, responder, identity, vendorSeen } = env;
  const version = o.version;

  // VCA: P-384 / SHA-384 / secp384r1 / AES-256-GCM selected. A DataTransferSize below
  // MaxSPDMmsgSize needs CHUNK_CAP (DSP0274 1.2+).
  const dts = 256;
  const alg = vca(r, { version, caps: caps | C.SPDM_CAP.CHUNK_CAP, dataTransferSize: dts });
  assert.ok(alg);
  assert.equal(alg.baseAsymSel, C.SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P384);
  assert.equal(alg.baseHashSel, C.SPDM_HASH.TPM_ALG_SHA_384);
  assert.equal(stateOf(responder), 'NEGOTIATED');

  // DIGESTS: Hash(chain buffer) of slot 0.
  const expectedChain = chainBuffer(identity.certificates);
  const d = r.exchange<Digests>({ version, code: C.SPDM_GET_DIGESTS });
  r.b.length = 0;
  r.b.push(d.reqBytes, d.rspBytes);
  assert.equal(d.rsp.slotMask, 1);
  assert.equal(toHex(d.rsp.digests[0]), toHex(digest('sha384', expectedChain)));

  // CERTIFICATE in portions of at most DataTransferSize - 8; the chain verifies.
  const chain = readChain(r, version >= C.SPDM_VERSION_12 ? dts - 8 : 0xffff);
  assert.equal(toHex(chain), toHex(expectedChain));
  const verdict = verifyCertChain(chain, {
    hash: 'sha384',
    trustAnchors: [identity.ca],
    asym: 'ecdsa-p384',
  });
  assert.ok(verdict.ok, verdict.ok ? '' : `${verdict.reason}: ${verdict.detail}`);
  const leaf = leafKey(identity.certificates);

  // CHALLENGE with the summary of all measurements.
  const nonce = r.random(32);
  const ch = r.exchange<ChallengeAuth>({
    version,
    code: C.SPDM_CHALLENGE,
    slotId: 0,
    measurementSummaryHashType: C.SPDM_MEAS_SUMMARY_ALL,
    nonce,
    requesterContext: reqContext(version),
  });
  r.c.push(ch.reqBytes, ch.rspBytes.subarray(0, ch.rspBytes.length - S));
  const m1 = concat(...r.a, ...r.b, ...r.c);
  assert.ok(
    spdmVerify(
      { ...P384, version, context: SPDM_SIGNING_CONTEXT.CHALLENGE_AUTH },
      leaf,
      m1,
      ch.rsp.signature,
    ),
    'CHALLENGE_AUTH signature over A || B || C',
  );
  assert.equal(toHex(ch.rsp.certChainHash), toHex(digest('sha384', expectedChain)));
  const allDigests: DmtfMeasurementBlock[] = sampleMeasurements().map((m) => ({
    kind: 'dmtf',
    index: m.index,
    valueType: m.valueType,
    rawBitStream: m.alwaysRaw === true,
    value: m.alwaysRaw ? m.value : digest('sha384', m.value),
  }));
  assert.equal(
    toHex(ch.rsp.measurementSummaryHash!),
    toHex(digest('sha384', encodeMeasurementRecord(allDigests))),
  );
  r.b.length = 0;
  r.c.length = 0;
  assert.equal(stateOf(responder), 'AUTHENTICATED');

  // MEASUREMENTS: count, index 1 raw, index 2 digest (unsigned), then all signed.
  const meas = (attributes: number, operation: number) => {
    const signed = (attributes & 1) !== 0;
    const x = r.exchange<Measurements>({
      version,
      code: C.SPDM_GET_MEASUREMENTS,
      attributes,
      operation,
      nonce: signed ? r.random(32) : undefined,
      slotIdParam: signed ? 0 : undefined,
      requesterContext: reqContext(version),
    });
    r.m.push(x.reqBytes, signed ? x.rspBytes.subarray(0, x.rspBytes.length - S) : x.rspBytes);
    return x;
  };
  assert.equal(meas(0, C.SPDM_MEAS_OP_TOTAL_NUMBER).rsp.totalNumberOfMeasurements, 5);
  const raw1 = meas(C.SPDM_MEAS_ATTR_RAW_BIT_STREAM_REQUESTED, 1).rsp
    .blocks[0] as DmtfMeasurementBlock;
  assert.ok(raw1.rawBitStream);
  assert.equal(toHex(raw1.value), toHex(sampleMeasurements()[0].value));
  const dig2 = meas(0, 2).rsp.blocks[0] as DmtfMeasurementBlock;
  assert.ok(!dig2.rawBitStream);
  assert.equal(toHex(dig2.value), toHex(digest('sha384', sampleMeasurements()[1].value)));
  const all = meas(C.SPDM_MEAS_ATTR_SIGNATURE_REQUESTED, C.SPDM_MEAS_OP_ALL);
  assert.equal(all.rsp.blocks.length, 5);
  const l1 = concat(...(version >= C.SPDM_VERSION_12 ? r.a : []), ...r.m);
  assert.ok(
    spdmVerify(
      { ...P384, version, context: SPDM_SIGNING_CONTEXT.MEASUREMENTS },
      leaf,
      l1,
      all.rsp.signature!,
    ),
    'MEASUREMENTS signature over A || M',
  );
  r.m.length = 0;

  // KEY_EXCHANGE (TCB summary), its signature, TH1, the handshake keys, VerifyData.
  const kp = dheGenerate('secp384r1', r.random);
  const ke = {
    version,
    code: C.SPDM_KEY_EXCHANGE,
    measurementSummaryHashType: C.SPDM_MEAS_SUMMARY_TCB,
    slotId: 0,
    reqSessionId: 0x1234,
    sessionPolicy: 0,
    randomData: r.random(32),
    exchangeData: kp.exchangeData,
    opaqueData: buildSupportedVersionsOpaque([0x1000, 0x1100, 0x1200], version),
  } as const;
  const kx = r.exchange<KeyExchangeRsp>(ke, undefined, {
    handshakeInTheClear: o.handshakeInTheClear,
  });
  const sid = ((kx.rsp.rspSessionId << 16) | 0x1234) >>> 0;
  assert.equal(kx.rsp.heartbeatPeriod, 5);
  assert.equal(
    toHex(kx.rsp.measurementSummaryHash!),
    toHex(digest('sha384', encodeMeasurementRecord(allDigests.filter((b) => b.valueType === 0)))),
  );
  const schedule: KeyScheduleParams = { version, hash: 'sha384', aeadKeySize: 32 };
  const s: ScriptedSession = r.openSession(sid, 'dhe', schedule, 'aes-256-gcm');
  s.certHash = digest('sha384', expectedChain);
  const vlen = o.handshakeInTheClear ? 0 : H;
  const sigAt = kx.rspBytes.length - S - vlen;
  s.k.push(kx.reqBytes, kx.rspBytes.subarray(0, sigAt));
  assert.ok(
    spdmVerify(
      { ...P384, version, context: SPDM_SIGNING_CONTEXT.KEY_EXCHANGE_RSP },
      leaf,
      r.th(s),
      kx.rsp.signature,
    ),
    'KEY_EXCHANGE_RSP signature over A || Hash(Cert) || K',
  );
  s.k.push(kx.rsp.signature);
  const keyed = deriveHandshakeKeys(
    s.secured,
    dheSharedSecret(kp, kx.rsp.exchangeData),
    r.thHash(s, 'sha384'),
  );
  s.secured = keyed;
  const hs = keyed.handshake;
  if (o.handshakeInTheClear) {
    assert.equal(kx.rsp.verifyData, undefined);
  } else {
    assert.equal(
      toHex(kx.rsp.verifyData!),
      toHex(verifyData(schedule, hs.response.finishedKey, r.thHash(s, 'sha384'))),
    );
    s.k.push(kx.rsp.verifyData!);
  }
  assert.deepEqual(responder.sessions(), [{ sessionId: sid, kind: 'dhe', phase: 'handshake' }]);

  // FINISH: encrypted with the handshake keys, or in the clear.
  const finishHeader = Uint8Array.of(version, C.SPDM_FINISH, 0, 0);
  const reqVerify = verifyData(
    schedule,
    hs.request.finishedKey,
    r.thHash(s, 'sha384', finishHeader),
  );
  const finish = {
    version,
    code: C.SPDM_FINISH,
    signatureIncluded: false,
    reqSlotId: 0,
    verifyData: reqVerify,
  } as const;
  const fx = r.exchange<FinishRsp>(finish, o.handshakeInTheClear ? undefined : s, {
    handshakeInTheClear: o.handshakeInTheClear,
  });
  s.f.push(fx.reqBytes);
  if (o.handshakeInTheClear) {
    const rspVerify = verifyData(
      schedule,
      hs.response.finishedKey,
      r.thHash(s, 'sha384', fx.rspBytes.subarray(0, 4)),
    );
    assert.equal(toHex(fx.rsp.verifyData!), toHex(rspVerify));
  } else {
    assert.equal(fx.rspBytes.length, 4);
  }
  s.f.push(fx.rspBytes);
  s.secured = establishSession(deriveDataKeys(s.secured, r.thHash(s, 'sha384')));
  assert.deepEqual(responder.sessions(), [{ sessionId: sid, kind: 'dhe', phase: 'established' }]);

  // HEARTBEAT, KEY_UPDATE (UpdateKey, VerifyNewKey, then UpdateAllKeys, VerifyNewKey).
  assert.equal(r.exchange({ version, code: C.SPDM_HEARTBEAT }, s).rsp.code, C.SPDM_HEARTBEAT_ACK);
  const upd = (keyOperation: number, tag: number) =>
    r.exchange<KeyUpdateAck>({ version, code: C.SPDM_KEY_UPDATE, keyOperation, tag }, s).rsp;
  assert.deepEqual(upd(C.SPDM_KEY_UPDATE_OP.UpdateKey, 7), {
    version,
    code: C.SPDM_KEY_UPDATE_ACK,
    keyOperation: 1,
    tag: 7,
  });
  s.secured = updateKey(s.secured, 'request', false);
  assert.equal(upd(C.SPDM_KEY_UPDATE_OP.VerifyNewKey, 8).keyOperation, 3);
  // UpdateAllKeys: the ACK comes under the new response key.
  s.secured = updateKey(s.secured, 'response');
  assert.equal(upd(C.SPDM_KEY_UPDATE_OP.UpdateAllKeys, 9).tag, 9);
  s.secured = updateKey(commitKeyUpdate(s.secured, 'response'), 'request', false);
  assert.equal(upd(C.SPDM_KEY_UPDATE_OP.VerifyNewKey, 10).keyOperation, 3);

  // VENDOR_DEFINED: the registered TDISP handler sees the session and answers.
  const vd = r.exchange<VendorDefinedResponse>(
    {
      version,
      code: C.SPDM_VENDOR_DEFINED_REQUEST,
      standardId: C.SPDM_REGISTRY_ID_PCISIG,
      vendorId: Uint8Array.of(1, 0),
      payload: Uint8Array.of(C.PCI_PROTOCOL_ID_TDISP, 0x10, 0x81, 0, 0),
    },
    s,
  );
  assert.equal(toHex(vd.rsp.payload), '010000811' + '0');
  assert.deepEqual(vendorSeen.at(-1), { sessionId: sid });

  // Signed measurements inside the session: L1/L2 = A || the session's M.
  const sm = r.exchange<Measurements>(
    {
      version,
      code: C.SPDM_GET_MEASUREMENTS,
      attributes: C.SPDM_MEAS_ATTR_SIGNATURE_REQUESTED,
      operation: 3,
      nonce: r.random(32),
      slotIdParam: 0,
      requesterContext: reqContext(version),
    },
    s,
  );
  const l2 = concat(
    ...(version >= C.SPDM_VERSION_12 ? r.a : []),
    sm.reqBytes,
    sm.rspBytes.subarray(0, sm.rspBytes.length - S),
  );
  assert.ok(
    spdmVerify(
      { ...P384, version, context: SPDM_SIGNING_CONTEXT.MEASUREMENTS },
      leaf,
      l2,
      sm.rsp.signature!,
    ),
  );

  // END_SESSION: the ACK under the session keys, then the session is gone.
  const before = sessionSequence(s.secured);
  assert.equal(
    r.exchange({ version, code: C.SPDM_END_SESSION, preserveNegotiatedStateClear: true }, s).rsp
      .code,
    C.SPDM_END_SESSION_ACK,
  );
  assert.ok(sessionSequence(s.secured).responseData > before.responseData);
  assert.deepEqual(responder.sessions(), []);
  assert.equal(
    r.sendSecuredRaw(s, Uint8Array.of(version, C.SPDM_HEARTBEAT, 0, 0)),
    undefined,
    'records of an ended session get no answer',
  );
  assert.equal(stateOf(responder), 'AUTHENTICATED');
  return env;
}

describe('SpdmResponder: a full connection', () => {
  it('SPDM 1.3 over PCI DOE, FINISH encrypted', () => {
    const { events } = fullFlow({
      binding: 'pci_doe',
      version: C.SPDM_VERSION_13,
      handshakeInTheClear: false,
    });
    const phases = events
      .filter((e) => e.type === 'session')
      .map((e) => (e as { phase: string }).phase);
    assert.deepEqual(phases, ['handshake', 'established', 'ended']);
    assert.ok(!events.some((e) => e.type === 'error-response'), 'no ERROR was sent');
  });
  it('SPDM 1.2 over PCI DOE, HANDSHAKE_IN_THE_CLEAR', () => {
    fullFlow({ binding: 'pci_doe', version: C.SPDM_VERSION_12, handshakeInTheClear: true });
  });
  it('SPDM 1.1 over PCI DOE, FINISH encrypted (no signing prefix, no DataTransferSize)', () => {
    fullFlow({ binding: 'pci_doe', version: C.SPDM_VERSION_11, handshakeInTheClear: false });
  });
  it('SPDM 1.3 over MCTP, FINISH encrypted', () => {
    fullFlow({ binding: 'mctp', version: C.SPDM_VERSION_13, handshakeInTheClear: false });
  });
  it('SPDM 1.3 over MCTP, HANDSHAKE_IN_THE_CLEAR', () => {
    fullFlow({ binding: 'mctp', version: C.SPDM_VERSION_13, handshakeInTheClear: true });
  });

  it('a PSK session: PSK_EXCHANGE, PSK_FINISH, HEARTBEAT, END_SESSION', () => {
    const { r, responder } = setup('pci_doe');
    const version = C.SPDM_VERSION_13;
    vca(r, { version });
    const px = r.exchange<PskExchangeRsp>({
      version,
      code: C.SPDM_PSK_EXCHANGE,
      measurementSummaryHashType: 0,
      sessionPolicy: 0,
      reqSessionId: 0x0042,
      pskHint: PSK.hint,
      requesterContext: r.random(48),
      opaqueData: buildSupportedVersionsOpaque([0x1100], version),
    });
    const sid = ((px.rsp.rspSessionId << 16) | 0x42) >>> 0;
    const schedule: KeyScheduleParams = { version, hash: 'sha384', aeadKeySize: 32 };
    const s = r.openSession(sid, 'psk', schedule, 'aes-256-gcm');
    s.k.push(px.reqBytes, px.rspBytes.subarray(0, px.rspBytes.length - H));
    const keyed = deriveHandshakeKeys(s.secured, PSK.psk, r.thHash(s, 'sha384'));
    s.secured = keyed;
    const hs = keyed.handshake;
    assert.equal(
      toHex(px.rsp.verifyData),
      toHex(verifyData(schedule, hs.response.finishedKey, r.thHash(s, 'sha384'))),
    );
    assert.equal(px.rsp.responderContext.length, H);
    s.k.push(px.rsp.verifyData);
    const header = Uint8Array.of(version, C.SPDM_PSK_FINISH, 0, 0);
    const pf = r.exchange(
      {
        version,
        code: C.SPDM_PSK_FINISH,
        verifyData: verifyData(schedule, hs.request.finishedKey, r.thHash(s, 'sha384', header)),
      },
      s,
    );
    assert.equal(pf.rsp.code, C.SPDM_PSK_FINISH_RSP);
    s.f.push(pf.reqBytes, pf.rspBytes);
    s.secured = establishSession(deriveDataKeys(s.secured, r.thHash(s, 'sha384')));
    assert.equal(r.exchange({ version, code: C.SPDM_HEARTBEAT }, s).rsp.code, C.SPDM_HEARTBEAT_ACK);
    assert.equal(
      r.exchange({ version, code: C.SPDM_END_SESSION, preserveNegotiatedStateClear: false }, s).rsp
        .code,
      C.SPDM_END_SESSION_ACK,
    );
    assert.deepEqual(responder.sessions(), []);
  });

  it("serves libspdm's sample chain unchanged and signs with end_responder.key", () => {
    const { r, identity } = setup('pci_doe');
    vca(r, { version: C.SPDM_VERSION_12 });
    const chain = readChain(r, 0x1200 - 8);
    const bundle = concat(...identity.certificates);
    assert.ok(bytesEqual(chain.subarray(4 + H), bundle), 'the DER bundle follows the root hash');
    const v = verifyCertChain(chain, { hash: 'sha384', trustAnchors: [identity.ca] });
    assert.ok(v.ok);
    const pub = createPublicKey(identity.privateKey);
    assert.ok(v.leafPublicKey.equals(pub), 'the leaf certifies end_responder.key');
  });
});
