/**
 * The requester under attack: a tampering transport between the teeio requester and the
 * teeio responder flips bits in signatures, VerifyData, certificates, digests and
 * ciphertext, replays, reorders and truncates records, changes session ids, answers with
 * the wrong message or version, and oversizes responses. Each must be refused with the
 * error that names it (SpdmVerifyError with the check, SpdmErrorResponse with the peer's
 * code), and leave no half-open session behind: the requester holds no session that did
 * not complete, and the next flow on the same connection succeeds.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { seededRandom } from '../../src/crypto/random.ts';
import {
  DEFAULT_REQUESTER_CAPABILITIES,
  DEFAULT_RESPONDER_CAPABILITIES,
} from '../../src/spdm/config.ts';
import type { SpdmEvent } from '../../src/spdm/events.ts';
import {
  SpdmErrorResponse,
  type SpdmRequester,
  SpdmVerifyError,
} from '../../src/spdm/requester/index.ts';
import type { SpdmResponder } from '../../src/spdm/responder/index.ts';
import { protect } from '../../src/spdm/session.ts';
import { type Binding, TransportError, type TransportMessage } from '../../src/transport/types.ts';
import { concat } from '../../src/wire/hex.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import {
  authenticate,
  flip,
  generatedIdentity,
  makePair,
  type Tamper,
  type TestIdentity,
} from './requester-support.ts';

const S = 96; // ECDSA P-384 signature
const H = 48; // SHA-384

/** Asserts a rejection with SpdmVerifyError naming `what` (and `detail` matching). */
async function rejectsWith(p: Promise<unknown>, what: string, detail?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SpdmVerifyError, `expected SpdmVerifyError, got ${String(e)}`);
    assert.equal(e.what, what);
    if (detail) assert.match(e.detail, detail);
    return true;
  });
}

/** Rewrites the first plain response with code `code` (only that one). */
function onceOnResponse(code: number, edit: (b: Uint8Array) => Uint8Array): Tamper {
  let done = false;
  return {
    response(m) {
      if (done || m.secured || m.bytes[1] !== code) return undefined;
      done = true;
      // DOE padding is the transport's: edit the message, not the zeros after it.
      return { secured: false, bytes: edit(m.bytes.subarray(0, m.bytes.length - (m.maxPad ?? 0))) };
    },
  };
}

/** A session flow on a connection that has been through a failure: it must just work. */
async function stillWorks(r: SpdmRequester): Promise<void> {
  assert.deepEqual(r.sessions, [], 'no half-open session');
  const s = await r.startSession();
  await r.heartbeat(s);
  await r.endSession(s);
}

const rejectedReasons = (events: SpdmEvent[]) =>
  events.flatMap((e) => (e.type === 'record-rejected' ? [e.reason] : []));

describe('requester refuses tampered plain messages', () => {
  let id: TestIdentity;
  before(async () => {
    id = await generatedIdentity();
  });

  it('CHALLENGE_AUTH signature: challenge-signature, state stays NEGOTIATED, a clean CHALLENGE verifies', async () => {
    const { requester: r } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_CHALLENGE_AUTH, (b) => flip(b, -1)),
    });
    await authenticate(r);
    await rejectsWith(r.challenge(0), 'challenge-signature');
    assert.equal(r.state, 'NEGOTIATED');
    await r.challenge(0);
    assert.equal(r.state, 'AUTHENTICATED');
  });

  it('CHALLENGE_AUTH CertChainHash: cert-chain-hash', async () => {
    const { requester: r } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_CHALLENGE_AUTH, (b) => flip(b, 4)),
    });
    await authenticate(r);
    await rejectsWith(r.challenge(0), 'cert-chain-hash');
    await r.challenge(0);
  });

  it('MEASUREMENTS signature: measurements-signature, and M starts over on both sides', async () => {
    const { requester: r } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_MEASUREMENTS, (b) => flip(b, -S + 3)),
    });
    await authenticate(r);
    await rejectsWith(r.getMeasurements(), 'measurements-signature');
    await r.getMeasurements();
  });

  it('KEY_EXCHANGE_RSP signature: key-exchange-signature, no session kept', async () => {
    const { requester: r, events } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_KEY_EXCHANGE_RSP, (b) => flip(b, -H - 10)),
    });
    await authenticate(r);
    await rejectsWith(r.startSession(), 'key-exchange-signature');
    assert.equal(events.filter((e) => e.type === 'session').length, 0, 'never registered');
    await stillWorks(r);
  });

  it('KEY_EXCHANGE_RSP VerifyData: key-exchange-verify-data, no session kept', async () => {
    const { requester: r } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_KEY_EXCHANGE_RSP, (b) => flip(b, -1)),
    });
    await authenticate(r);
    await rejectsWith(r.startSession(), 'key-exchange-verify-data');
    await stillWorks(r);
  });

  it('FINISH_RSP VerifyData (handshake in the clear): finish-verify-data, session dropped', async () => {
    const hitc = C.SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP;
    const { requester: r, events } = makePair({
      identity: id,
      responder: { capabilities: DEFAULT_RESPONDER_CAPABILITIES | hitc },
      requester: { capabilities: DEFAULT_REQUESTER_CAPABILITIES | hitc },
      tamper: onceOnResponse(C.SPDM_FINISH_RSP, (b) => flip(b, -1)),
    });
    await authenticate(r);
    await rejectsWith(r.startSession(), 'finish-verify-data');
    const ended = events.filter((e) => e.type === 'session' && e.phase === 'ended');
    assert.equal(ended.length, 1);
    assert.equal(ended[0].type === 'session' && ended[0].cause, 'finish-failed');
    await stillWorks(r);
  });

  it('a certificate byte: certificate-chain (bad-signature), no chain kept', async () => {
    const { requester: r } = makePair({
      identity: id,
      options: { certificateBlockLength: 0x400 },
      // The second portion ends with the leaf's signature.
      tamper: {
        response: (m, i) =>
          !m.secured &&
          m.bytes[1] === C.SPDM_CERTIFICATE &&
          m.bytes[6] === 0 &&
          m.bytes[7] === 0 &&
          i >= 0
            ? {
                secured: false,
                bytes: flip(m.bytes.subarray(0, m.bytes.length - (m.maxPad ?? 0)), -5),
              }
            : undefined,
      },
    });
    await r.connect();
    await rejectsWith(r.getCertificate(0), 'certificate-chain', /bad-signature|malformed/);
    assert.equal(r.peerChain(0), undefined);
  });

  it('an untrusted root: certificate-chain (wrong-root)', async () => {
    const other = await import('../../src/crypto/cert-build.ts').then((m) =>
      m.generateDeviceIdentity({ asym: 'ecdsa-p256' }),
    );
    const { requester: r } = makePair({
      identity: id,
      requester: { trustAnchors: [other.root.certificate] },
    });
    await r.connect();
    await rejectsWith(r.getCertificate(0), 'certificate-chain', /^wrong-root/);
  });

  it('a DIGESTS value: digests, the chain does not match the slot digest', async () => {
    const { requester: r } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_DIGESTS, (b) => flip(b, 4)),
    });
    await r.connect();
    await r.getDigests();
    await rejectsWith(r.getCertificate(0), 'digests');
  });

  it('a truncated response: response, naming the field that ran out', async () => {
    const { requester: r } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_MEASUREMENTS, (b) => b.subarray(0, b.length - 10)),
    });
    await authenticate(r);
    await rejectsWith(r.getMeasurements(), 'response', /truncated/);
    await r.getMeasurements();
  });

  it('another message in place of the answer (out of order): response', async () => {
    let version: Uint8Array | undefined;
    const { requester: r } = makePair({
      identity: id,
      tamper: {
        response(m) {
          if (m.bytes[1] === C.SPDM_VERSION) version = m.bytes.slice();
          return m.bytes[1] === C.SPDM_DIGESTS ? { secured: false, bytes: version! } : undefined;
        },
      },
    });
    await r.connect();
    await rejectsWith(r.getDigests(), 'response', /VERSION answered GET_DIGESTS/);
  });

  it('a response in another SPDM version: version', async () => {
    const { requester: r } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_DIGESTS, (b) => concat(Uint8Array.of(0x12), b.subarray(1))),
    });
    await r.connect();
    await rejectsWith(r.getDigests(), 'version', /SPDMVersion 0x12/);
  });

  it('a response beyond MaxSPDMmsgSize: response-size', async () => {
    const { requester: r } = makePair({
      identity: id,
      tamper: onceOnResponse(C.SPDM_DIGESTS, (b) => concat(b, new Uint8Array(0x1300))),
    });
    await r.connect();
    await rejectsWith(r.getDigests(), 'response-size');
  });
});

for (const binding of ['pci_doe', 'mctp'] as Binding[]) {
  describe(`requester refuses tampered ${binding} records`, () => {
    let id: TestIdentity;
    before(async () => {
      id = await generatedIdentity();
    });

    /** Edits the n-th secured response (0 = FINISH_RSP, 1 = the first one after it). */
    const nthRecord = (n: number, edit: (m: TransportMessage) => TransportMessage): Tamper => {
      let k = 0;
      return { response: (m) => (m.secured && k++ === n ? edit(m) : undefined) };
    };

    it('ciphertext of FINISH_RSP: secured-record (decrypt-failed), session dropped', async () => {
      const { requester: r, events } = makePair({
        binding,
        identity: id,
        tamper: nthRecord(0, (m) => ({ secured: true, bytes: flip(m.bytes, -20) })),
      });
      await authenticate(r);
      await rejectsWith(r.startSession(), 'secured-record', /decrypt-failed/);
      assert.deepEqual(rejectedReasons(events), ['decrypt-failed']);
      await stillWorks(r);
    });

    it('MAC of HEARTBEAT_ACK: secured-record, the established session is dropped', async () => {
      const { requester: r, events } = makePair({
        binding,
        identity: id,
        tamper: nthRecord(1, (m) => ({ secured: true, bytes: flip(m.bytes, -1) })),
      });
      await authenticate(r);
      const s = await r.startSession();
      await rejectsWith(r.heartbeat(s), 'secured-record', /decrypt-failed/);
      assert.equal(s.phase, 'ended');
      const ended = events.find((e) => e.type === 'session' && e.phase === 'ended');
      assert.equal(ended?.type === 'session' && ended.cause, 'decrypt-error');
      await stillWorks(r);
    });

    it('a replayed record: the first HEARTBEAT_ACK again for the second HEARTBEAT', async () => {
      let first: TransportMessage | undefined;
      let k = 0;
      const { requester: r, events } = makePair({
        binding,
        identity: id,
        tamper: {
          response(m) {
            if (!m.secured) return undefined;
            k++;
            if (k === 2) first = m; // the first HEARTBEAT_ACK (1 = FINISH_RSP)
            return k === 3 ? first : undefined;
          },
        },
      });
      await authenticate(r);
      const s = await r.startSession();
      await r.heartbeat(s);
      await rejectsWith(r.heartbeat(s), 'secured-record');
      // DOE: the implicit counter makes the nonce wrong; MCTP: the header sequence number.
      assert.deepEqual(rejectedReasons(events), [
        binding === 'mctp' ? 'sequence' : 'decrypt-failed',
      ]);
      await stillWorks(r);
    });

    it('a reordered record: the responder record after the next arrives first', async () => {
      let responder: SpdmResponder | undefined;
      let sid = 0;
      let k = 0;
      const pair = makePair({
        binding,
        identity: id,
        tamper: {
          response(m) {
            if (!m.secured || k++ !== 1) return undefined;
            // Hold this HEARTBEAT_ACK back; seal the next one too and deliver that instead.
            const ack = Uint8Array.of(C.SPDM_VERSION_13, C.SPDM_HEARTBEAT_ACK, 0, 0);
            const next = protect(responder!.session(sid)!, ack, seededRandom('tamper'));
            return { secured: true, bytes: next.record };
          },
        },
      });
      responder = pair.responder;
      const r = pair.requester;
      await authenticate(r);
      const s = await r.startSession();
      sid = s.id;
      await rejectsWith(r.heartbeat(s), 'secured-record');
      assert.deepEqual(rejectedReasons(pair.events), [
        binding === 'mctp' ? 'sequence' : 'decrypt-failed',
      ]);
      await stillWorks(r);
    });

    if (binding === 'mctp') {
      it('an MCTP application message in place of the SPDM response: secured-record (malformed)', async () => {
        let responder: SpdmResponder | undefined;
        let sid = 0;
        let fake: Uint8Array | undefined;
        let k = 0;
        const pair = makePair({
          binding,
          identity: id,
          tamper: {
            request(m) {
              // Seal, at the responder's next sequence number, a PLDM-typed (0x01) message.
              if (m.secured && k++ === 1) {
                const ack = Uint8Array.of(C.SPDM_VERSION_13, C.SPDM_HEARTBEAT_ACK, 0, 0);
                const rs = responder!.session(sid)!;
                fake = protect(rs, ack, seededRandom('tamper'), { mctpType: 0x01 }).record;
              }
              return undefined;
            },
            response(m) {
              if (!m.secured || !fake) return undefined;
              const bytes = fake;
              fake = undefined;
              return { secured: true, bytes };
            },
          },
        });
        responder = pair.responder;
        const r = pair.requester;
        await authenticate(r);
        const s = await r.startSession();
        sid = s.id;
        await rejectsWith(r.heartbeat(s), 'secured-record', /malformed.*MCTP message type 0x1/);
        await stillWorks(r);
      });
    }

    it('another session id in the response record: secured-record (unknown-session)', async () => {
      const { requester: r } = makePair({
        binding,
        identity: id,
        tamper: nthRecord(1, (m) => ({ secured: true, bytes: flip(m.bytes, 0) })),
      });
      await authenticate(r);
      const s = await r.startSession();
      await rejectsWith(r.heartbeat(s), 'secured-record', /unknown-session/);
      await stillWorks(r);
    });

    it('a truncated record: secured-record (malformed)', async () => {
      const { requester: r } = makePair({
        binding,
        identity: id,
        tamper: nthRecord(1, (m) => ({
          secured: true,
          bytes: m.bytes.subarray(0, m.bytes.length - 3),
        })),
      });
      await authenticate(r);
      const s = await r.startSession();
      await rejectsWith(r.heartbeat(s), 'secured-record', /malformed|decrypt-failed/);
      await stillWorks(r);
    });

    it('a tampered request record: the responder answers DecryptError, both ends drop the session', async () => {
      let k = 0;
      const { requester: r, responder } = makePair({
        binding,
        identity: id,
        tamper: {
          request: (m) =>
            m.secured && k++ === 1 ? { secured: true, bytes: flip(m.bytes, -2) } : undefined,
        },
      });
      await authenticate(r);
      const s = await r.startSession();
      await assert.rejects(
        r.heartbeat(s),
        (e: unknown) => e instanceof SpdmErrorResponse && e.codeName === 'DecryptError',
      );
      assert.equal(s.phase, 'ended');
      assert.deepEqual(responder.sessions(), [], 'the responder ended it too');
      await stillWorks(r);
    });

    it('another session id in the request record: no answer, the requester drops the session', async () => {
      let k = 0;
      const { requester: r } = makePair({
        binding,
        identity: id,
        tamper: {
          request: (m) =>
            m.secured && k++ === 1 ? { secured: true, bytes: flip(m.bytes, 1) } : undefined,
        },
      });
      await authenticate(r);
      const s = await r.startSession();
      await assert.rejects(
        r.heartbeat(s),
        (e: unknown) => e instanceof TransportError && e.code === 'no-response',
      );
      assert.equal(s.phase, 'ended');
      await stillWorks(r);
    });

    it('PSK_FINISH in a DHE session (CVE-2023-31127): UnexpectedRequest, the session goes on', async () => {
      const { requester: r } = makePair({
        binding,
        identity: id,
        // A responder that does PSK sessions too: the refusal is about this session's kind.
        responder: {
          capabilities: DEFAULT_RESPONDER_CAPABILITIES | C.SPDM_CAP.PSK_CAP_RESPONDER,
          psk: [{ hint: Uint8Array.of(1), psk: new Uint8Array(48).fill(7) }],
        },
      });
      await authenticate(r);
      const s = await r.startSession();
      const pskFinish = concat(
        Uint8Array.of(C.SPDM_VERSION_13, C.SPDM_PSK_FINISH, 0, 0),
        new Uint8Array(H),
      );
      await assert.rejects(
        r.sendRaw(pskFinish, s),
        (e: unknown) => e instanceof SpdmErrorResponse && e.codeName === 'UnexpectedRequest',
      );
      assert.equal(s.phase, 'established');
      await r.heartbeat(s);
      await r.endSession(s);
    });
  });
}
