/**
 * The teeio requester against the teeio responder in-process, through the real framing of
 * each binding (DOE objects with padding, MCTP messages): SPDM 1.1 to 1.3, a generated
 * identity and libspdm's sample identity, every flow of the requester API, and what the
 * requester does with ResponseNotReady, Busy and peer ERRORs. Every check the requester
 * makes must pass, and both ends must agree on what sessions exist.
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
  SpdmUsageError,
} from '../../src/spdm/requester/index.ts';
import { VendorRegistry } from '../../src/spdm/vendor.ts';
import type { TransportMessage } from '../../src/transport/types.ts';
import { VirtualClock } from '../../src/wire/clock.ts';
import { encodeSpdm } from '../../src/wire/spdm/codec.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import {
  authenticate,
  failedChecks,
  generatedIdentity,
  makePair,
  sampleIdentity,
  type TestIdentity,
} from './requester-support.ts';

const TDISP = { standardId: C.SPDM_REGISTRY_ID_PCISIG, vendorId: Uint8Array.of(0x01, 0x00) };

/** A TDISP handler that answers each message reversed. */
function echoRegistry(): VendorRegistry {
  const reg = new VendorRegistry();
  reg.register({ ...TDISP, protocolId: C.PCI_PROTOCOL_ID_TDISP }, (_ctx, message) => ({
    kind: 'response',
    message: message.slice().reverse(),
  }));
  return reg;
}

const checked = (events: SpdmEvent[]) =>
  new Set(events.flatMap((e) => (e.type === 'verify' ? [e.what] : [])));

/** Every requester API call once, as `teeio requester` with all steps runs them. */
async function fullFlow(r: SpdmRequester): Promise<void> {
  await authenticate(r);
  await r.challenge(0, 'all');
  const m = await r.getMeasurements({ index: 'all' });
  assert.equal(m.blocks.length, 5);
  assert.equal(m.signed, true);
  const s = await r.startSession({ measurementSummaryHash: 'all' });
  assert.equal(s.phase, 'established');
  await r.heartbeat(s);
  await r.keyUpdate(s, 'update-key');
  await r.keyUpdate(s, 'update-all-keys');
  const inSession = await r.getMeasurements({ index: 1, session: s });
  assert.equal(inSession.blocks[0].index, 1);
  const vdm = await r.sendVendorDefined(s, { ...TDISP, payload: Uint8Array.of(1, 0x10, 0x81) });
  assert.deepEqual([...vdm.payload], [1, 0x81, 0x10]);
  await r.endSession(s);
  assert.equal(s.phase, 'ended');
}

describe('requester <-> responder in-process', () => {
  let gen: TestIdentity;
  before(async () => {
    gen = await generatedIdentity();
  });

  for (const binding of ['pci_doe', 'mctp'] as const)
    for (const version of [C.SPDM_VERSION_11, C.SPDM_VERSION_12, C.SPDM_VERSION_13]) {
      it(`${binding} SPDM ${version >> 4}.${version & 0xf}: the whole API verifies`, async () => {
        const {
          requester: r,
          responder,
          events,
        } = makePair({
          binding,
          identity: gen,
          responder: { versions: [version], vendor: echoRegistry(), heartbeatPeriod: 10 },
        });
        await fullFlow(r);
        assert.deepEqual(failedChecks(events), []);
        assert.equal(r.negotiated?.version, version);
        assert.equal(r.state, 'AUTHENTICATED');
        assert.deepEqual(r.sessions, []);
        assert.deepEqual(responder.sessions(), [], 'the responder ended the session too');
        const seen = checked(events);
        for (const what of [
          'certificate-chain',
          'challenge-signature',
          'measurements-signature',
          'measurement-summary-hash',
          'key-exchange-signature',
          'key-exchange-verify-data',
        ] as const) {
          assert.ok(seen.has(what), `${what} checked`);
        }
        const phases = events.flatMap((e) => (e.type === 'session' ? [e.phase] : []));
        assert.deepEqual(phases, ['handshake', 'established', 'ended']);
      });
    }

  for (const binding of ['pci_doe', 'mctp'] as const)
    for (const version of [C.SPDM_VERSION_12, C.SPDM_VERSION_13]) {
      it(`${binding} SPDM 1.${version & 0xf} with libspdm's sample identity`, async () => {
        const { requester: r, events } = makePair({
          binding,
          identity: sampleIdentity(),
          responder: { versions: [version], vendor: echoRegistry() },
        });
        await fullFlow(r);
        assert.deepEqual(failedChecks(events), []);
        assert.match(r.peerChain(0)?.subject ?? '', /DMTF libspdm ECP384 responder cert/);
      });
    }

  it('SPDM 1.0: authentication only (signatures over the whole transcripts), no sessions', async () => {
    const { requester: r, events } = makePair({
      identity: gen,
      responder: { versions: [C.SPDM_VERSION_10] },
    });
    await authenticate(r);
    await r.challenge(0, 'all');
    await r.getMeasurements({ index: 'all' });
    assert.equal(r.negotiated?.version, C.SPDM_VERSION_10);
    assert.deepEqual(failedChecks(events), []);
    assert.ok(checked(events).has('measurement-summary-hash'));
    await assert.rejects(r.startSession(), SpdmUsageError);
  });

  it('HANDSHAKE_IN_THE_CLEAR: FINISH and FINISH_RSP in the clear, ResponderVerifyData in FINISH_RSP', async () => {
    const hitc = C.SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP;
    const { requester: r, events } = makePair({
      identity: gen,
      responder: { capabilities: DEFAULT_RESPONDER_CAPABILITIES | hitc },
      requester: { capabilities: DEFAULT_REQUESTER_CAPABILITIES | hitc },
    });
    await authenticate(r);
    assert.equal(r.negotiated?.handshakeInTheClear, true);
    const s = await r.startSession();
    await r.heartbeat(s);
    await r.endSession(s);
    assert.deepEqual(failedChecks(events), []);
    assert.ok(checked(events).has('finish-verify-data'));
    const finish = events.find((e) => e.type === 'message' && e.name === 'FINISH');
    assert.equal(finish?.type === 'message' && finish.sessionId, s.id);
    assert.ok(
      !checked(events).has('key-exchange-verify-data'),
      'no VerifyData in KEY_EXCHANGE_RSP',
    );
  });

  it('measurements: count, one raw block, unsigned reads folded into the next signed L1/L2', async () => {
    const { requester: r, events } = makePair({ identity: gen });
    await authenticate(r);
    const count = await r.getMeasurements({ index: 'count', signed: false });
    assert.equal(count.totalNumberOfMeasurements, 5);
    assert.deepEqual(count.blocks, []);
    const raw = await r.getMeasurements({ index: 5, raw: true, signed: false });
    const b = raw.blocks[0];
    assert.ok(b.kind === 'dmtf' && b.rawBitStream);
    assert.equal(Buffer.from(b.kind === 'dmtf' ? b.value : []).toString(), 'teeio-1.0');
    // Two unsigned reads then a signed one: the signature covers all three (M is kept).
    await r.getMeasurements({ index: 2, signed: false });
    const signed = await r.getMeasurements({ index: 3, signed: true });
    assert.equal(signed.signed, true);
    const rawAll = await r.getMeasurements({ index: 'all', raw: true });
    assert.equal(rawAll.blocks.length, 5);
    assert.deepEqual(failedChecks(events), []);
  });

  it('reads a chain in small portions and checks it against DIGESTS', async () => {
    const { requester: r, events } = makePair({
      identity: gen,
      options: { certificateBlockLength: 100 },
    });
    await authenticate(r);
    const portions = events.filter((e) => e.type === 'message' && e.name === 'GET_CERTIFICATE');
    const total = r.peerChain(0)!.buffer.length;
    assert.equal(portions.length, Math.ceil(total / 100));
    assert.ok(checked(events).has('digests'));
    await r.challenge(0);
    assert.deepEqual(failedChecks(events), []);
  });

  it('answers ResponseNotReady with RESPOND_IF_READY after the RDT wait (capped) on its clock', async () => {
    let pending: TransportMessage | undefined;
    const clock = new VirtualClock();
    const { requester: r, events } = makePair({
      identity: gen,
      options: { clock },
      handler: (inner) => async (m) => {
        const code = m.bytes[1];
        if (code === C.SPDM_GET_MEASUREMENTS && !pending) {
          pending = m;
          return {
            secured: false,
            bytes: encodeSpdm({
              version: m.bytes[0],
              code: C.SPDM_ERROR,
              errorCode: C.SPDM_ERROR_CODE.ResponseNotReady,
              errorData: 0,
              // 2^20 us is above the 1000 ms default cap.
              responseNotReady: { rdtExponent: 20, requestCode: code, token: 0x5a, rdtm: 2 },
            }),
          };
        }
        if (code === C.SPDM_RESPOND_IF_READY) {
          assert.equal(m.bytes[2], C.SPDM_GET_MEASUREMENTS);
          assert.equal(m.bytes[3], 0x5a, 'the token comes back');
          return inner(pending!);
        }
        return inner(m);
      },
    });
    await authenticate(r);
    const before = clock.now();
    const m = await r.getMeasurements({ index: 'all' });
    assert.equal(m.blocks.length, 5);
    assert.equal(clock.now() - before, 1000, 'slept the capped RDT on the injected clock');
    assert.deepEqual(failedChecks(events), []);
    const names = events.flatMap((e) => (e.type === 'message' ? [e.name] : []));
    assert.deepEqual(names.slice(-4), [
      'GET_MEASUREMENTS',
      'ERROR',
      'RESPOND_IF_READY',
      'MEASUREMENTS',
    ]);
  });

  it('retries Busy, and reports it once the retries are spent', async () => {
    let busy = 2;
    const busyError = (v: number): TransportMessage => ({
      secured: false,
      bytes: encodeSpdm({
        version: v,
        code: C.SPDM_ERROR,
        errorCode: C.SPDM_ERROR_CODE.Busy,
        errorData: 0,
      }),
    });
    const { requester: r } = makePair({
      identity: gen,
      handler: (inner) => async (m) =>
        m.bytes[1] === C.SPDM_GET_DIGESTS && busy-- > 0 ? busyError(m.bytes[0]) : inner(m),
    });
    await r.connect();
    await r.getDigests();
    busy = 100;
    await assert.rejects(r.getDigests(), (e: unknown) => {
      assert.ok(e instanceof SpdmErrorResponse);
      assert.equal(e.codeName, 'Busy');
      assert.equal(e.requestCode, C.SPDM_GET_DIGESTS);
      return true;
    });
  });

  it("turns the peer's ERROR into SpdmErrorResponse and misuse into SpdmUsageError", async () => {
    const { requester: r } = makePair({ identity: gen });
    await assert.rejects(r.getDigests(), SpdmUsageError);
    await r.connect();
    await assert.rejects(r.challenge(0), SpdmUsageError, 'no chain read yet');
    await assert.rejects(
      r.sendRaw(Uint8Array.of(C.SPDM_VERSION_13, 0xed, 0, 0)),
      (e: unknown) => e instanceof SpdmErrorResponse && e.codeName === 'UnsupportedRequest',
    );
    await r.getCertificate(0);
    await assert.rejects(
      r.getMeasurements({ index: 0x42 }),
      (e: unknown) =>
        e instanceof SpdmErrorResponse && e.errorCode === C.SPDM_ERROR_CODE.InvalidRequest,
    );
    const s = await r.startSession();
    await r.endSession(s);
    await assert.rejects(r.heartbeat(s), SpdmUsageError, 'an ended session');
  });

  it('GET_VERSION starts over: sessions end, the chain must be read again', async () => {
    const { requester: r, events } = makePair({ identity: gen });
    await authenticate(r);
    const s = await r.startSession();
    await r.connect();
    assert.equal(s.phase, 'ended');
    assert.deepEqual(r.sessions, []);
    assert.equal(r.peerChain(0), undefined);
    const ended = events.find((e) => e.type === 'session' && e.phase === 'ended');
    assert.equal(ended?.type === 'session' && ended.cause, 'version-restart');
    await r.getCertificate(0);
    await r.endSession(await r.startSession());
  });

  it('runs concurrent calls one at a time', async () => {
    const { requester: r, events } = makePair({ identity: gen });
    await r.connect();
    const [d, c] = await Promise.all([r.getDigests(), r.getCertificate(0), r.getMeasurements()]);
    assert.equal(d.slotMask, 1);
    assert.equal(c.slot, 0);
    assert.deepEqual(failedChecks(events), []);
  });

  it('with seeded randomness on both sides, the requests repeat byte for byte', async () => {
    const requests = async () => {
      const { requester: r, events } = makePair({
        identity: gen,
        requester: { random: seededRandom('requester') },
        responder: { random: seededRandom('responder') },
      });
      await authenticate(r);
      await r.challenge(0);
      await r.getMeasurements();
      await r.startSession();
      return events.flatMap((e) =>
        e.type === 'message' && e.direction === 'out' ? [Buffer.from(e.bytes).toString('hex')] : [],
      );
    };
    const a = await requests();
    const b = await requests();
    // Up to KEY_EXCHANGE; FINISH carries an HMAC over the responder's (randomised) ECDSA signature.
    assert.deepEqual(a.slice(0, -1), b.slice(0, -1));
  });
});
