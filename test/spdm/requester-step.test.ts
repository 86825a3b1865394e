/**
 * The requester as transitions (src/spdm/requester/step.ts), with no transport and no
 * SpdmRequester: requesterStart / requesterReceive and the responder's responderStep are
 * handed each other's messages by hand. A whole session runs so, its phases checked at
 * every message on both sides; a requester state cloned between KEY_EXCHANGE_RSP and
 * FINISH continues exactly like the original (the seeded random stream is part of the
 * state); and a state stays as it was when a reply fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSeededRandom, randomFromState, seededRandom } from '../../src/crypto/random.ts';
import type { SpdmEvent } from '../../src/spdm/events.ts';
import { SpdmRequester } from '../../src/spdm/requester/requester.ts';
import {
  type RequesterStepResult,
  requesterReceive,
  requesterStart,
} from '../../src/spdm/requester/step.ts';
import { SpdmResponder } from '../../src/spdm/responder/responder.ts';
import { createInProcessPair } from '../../src/transport/in-process.ts';
import { toHex } from '../../src/wire/hex.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import type { TransportMessage } from '../../src/wire/transport.ts';
import {
  afterKeyExchange,
  answer,
  authenticate,
  code,
  finish,
  type Link,
  link,
  receive,
  requesterSession,
  responderSession,
  run,
  start,
  states,
  TDISP,
} from './requester-step-support.ts';
import { authenticate as authenticatePair, makePair, sampleIdentity } from './requester-support.ts';

describe('requester steps by hand against responderStep', () => {
  it('a whole session: VCA, DIGESTS, CERTIFICATE in portions, MEASUREMENTS, KEY_EXCHANGE, FINISH, VENDOR_DEFINED, END_SESSION', () => {
    const l = link('pci_doe', 'whole session');
    const opts = { certificateBlockLength: 512 };
    const step = (r: RequesterStepResult) => {
      const next = requesterReceive(l.req, l.reqConfig, answer(l, r.out!), opts);
      l.req = next.state;
      return next;
    };

    // VCA: three requests, one call; the connection state moves with each response.
    let r = start(l, { kind: 'connect' });
    assert.equal(code(r), C.SPDM_GET_VERSION);
    assert.equal(states(l)[0], 'NOT_STARTED');
    assert.equal(l.req.call?.call.kind, 'connect');
    r = step(r);
    assert.equal(code(r), C.SPDM_GET_CAPABILITIES);
    assert.equal(states(l)[0], 'AFTER_VERSION');
    r = step(r);
    assert.equal(code(r), C.SPDM_NEGOTIATE_ALGORITHMS);
    assert.equal(states(l)[0], 'AFTER_CAPABILITIES');
    r = step(r);
    assert.equal(r.done?.call.kind, 'connect');
    assert.equal(r.out, undefined);
    assert.equal(states(l)[0], 'NEGOTIATED');
    assert.equal(states(l)[1], 'NEGOTIATED');
    assert.equal(l.req.transcript.a.length, 6, 'A holds the six VCA messages');

    // DIGESTS, then the chain 512 bytes at a time, each portion from the state alone.
    const digests = run(l, { kind: 'getDigests' });
    assert.equal(digests.call.kind, 'getDigests');
    assert.ok(l.req.digests.has(0));
    r = requesterStart(l.req, l.reqConfig, { kind: 'getCertificate', slot: 0 }, opts);
    l.req = r.state;
    const offsets: number[] = [];
    while (!r.done) {
      assert.equal(code(r), C.SPDM_GET_CERTIFICATE);
      offsets.push(r.out!.bytes[4] | (r.out!.bytes[5] << 8));
      r = step(r);
    }
    assert.ok(offsets.length > 2, `${offsets.length} portions`);
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => i * 512),
    );
    const chain = l.req.chains.get(0);
    assert.ok(chain);
    assert.equal(toHex(chain.hash), toHex(l.req.digests.get(0)!));
    const last = offsets.at(-1)!;
    assert.ok(chain.buffer.length > last && chain.buffer.length <= last + 512);

    // Signed measurements: the blocks become the reference for summary hashes.
    const m = run(l, { kind: 'getMeasurements', request: {} });
    assert.ok(m.kind === 'getMeasurements' && m.result.signed);
    assert.ok((l.req.measurements?.length ?? 0) > 0);
    assert.equal(l.req.transcript.m.length, 0, 'M starts over after a signed response');

    // KEY_EXCHANGE: a session in its handshake on both sides, FINISH sealed on its way.
    r = start(l, { kind: 'startSession', options: {} });
    assert.equal(code(r), C.SPDM_KEY_EXCHANGE);
    r = step(r);
    assert.equal(r.done, undefined);
    const id = [...l.req.sessions.keys()][0];
    assert.equal(requesterSession(l, id), 'handshake');
    assert.equal(responderSession(l, id), 'handshake');
    assert.equal(r.out?.secured, true, 'FINISH goes under the handshake keys');
    const progress = l.req.call?.progress as { stage: string };
    assert.equal(progress.stage, 'finish');
    // FINISH_RSP: the key switch on both sides.
    r = step(r);
    assert.ok(r.done?.kind === 'startSession' && r.done.result === id);
    assert.equal(requesterSession(l, id), 'established');
    assert.equal(responderSession(l, id), 'established');

    // VENDOR_DEFINED in the session: the responder's TDISP handler echoes it reversed.
    const payload = Uint8Array.of(C.PCI_PROTOCOL_ID_TDISP, 0x10, 0x81);
    r = start(l, { kind: 'vendorDefined', sessionId: id, message: { ...TDISP, payload } });
    assert.equal(r.out?.secured, true);
    r = step(r);
    assert.ok(r.done?.kind === 'vendorDefined');
    // The protocol id, then the message after it reversed.
    assert.equal(toHex(r.done.result.payload), '018110');

    // END_SESSION: gone on both sides.
    r = start(l, { kind: 'endSession', sessionId: id, clearNegotiatedState: false });
    r = step(r);
    assert.equal(r.done?.call.kind, 'endSession');
    assert.equal(l.req.sessions.size, 0);
    assert.equal(l.rsp.sessions.size, 0);
    assert.equal(states(l)[0], 'NEGOTIATED');
  });

  it('a requester state cloned after KEY_EXCHANGE_RSP continues byte for byte like the original (MCTP, seeded)', () => {
    const a = link('mctp', 'fork');
    authenticate(a);
    const { r, id } = afterKeyExchange(a);
    assert.equal(requesterSession(a, id), 'handshake');

    // The fork: both states cloned, the responder's random stream at the same position.
    const rspRandom = a.rspConfig.random;
    assert.ok(isSeededRandom(rspRandom));
    const b: Link = {
      ...a,
      req: structuredClone(a.req),
      rsp: structuredClone(a.rsp),
      rspConfig: { ...a.rspConfig, random: randomFromState(rspRandom.state()) },
      wire: [],
    };
    a.wire = [];
    // The clone knows what is on the wire without the step result that produced it.
    const pending = b.req.call?.exchange.onWire;
    assert.ok(pending && r.out);
    assert.equal(toHex(pending.bytes), toHex(r.out.bytes));

    const rest = (l: Link, first: TransportMessage) => {
      finish(l, receive(l, answer(l, first)));
      run(l, { kind: 'keyUpdate', sessionId: id, operation: 'update-all-keys' });
      run(l, { kind: 'getMeasurements', request: { session: id } });
      run(l, {
        kind: 'vendorDefined',
        sessionId: id,
        message: { ...TDISP, payload: Uint8Array.of(C.PCI_PROTOCOL_ID_TDISP, 1, 2) },
      });
      run(l, { kind: 'endSession', sessionId: id, clearNegotiatedState: false });
      return l.wire;
    };
    const wa = rest(a, r.out);
    const wb = rest(b, pending);
    assert.ok(wa.length >= 12);
    assert.deepEqual(wb, wa);
    assert.equal(a.req.random?.v, b.req.random?.v, 'both streams end at the same position');

    // Not vacuous: another stream position gives other records (MCTP padding, nonces, tags).
    const c: Link = {
      ...b,
      req: structuredClone(b.req),
      rsp: structuredClone(b.rsp),
      wire: [],
    };
    c.req.random = seededRandom('another').state();
    run(c, { kind: 'getMeasurements', request: {} });
    b.wire = [];
    run(b, { kind: 'getMeasurements', request: {} });
    assert.notDeepEqual(c.wire, b.wire);
  });

  it('SpdmRequester.stateSnapshot / resume: a resumed requester carries on the session like the original', async () => {
    const {
      requester: r,
      responder,
      events,
    } = makePair({
      identity: sampleIdentity(),
      responder: { heartbeatPeriod: 10 },
    });
    await authenticatePair(r);
    const s = await r.startSession();
    const fork = SpdmResponder.resume(responder.config, responder.stateSnapshot());
    const forkEvents: SpdmEvent[] = [];
    const r2 = SpdmRequester.resume(
      createInProcessPair('pci_doe', async (m) => fork.handle(m)),
      { ...r.config, onEvent: (e) => forkEvents.push(e) },
      r.stateSnapshot(),
      r.options,
    );
    assert.equal(r2.state, r.state);
    assert.deepEqual(
      r2.sessions.map((x) => [x.id, x.phase]),
      [[s.id, 'established']],
    );
    assert.equal(toHex(r2.peerChain(0)!.hash), toHex(r.peerChain(0)!.hash));

    const mark = events.length;
    for (const req of [r, r2]) {
      await req.heartbeat(s.id);
      await req.keyUpdate(s.id, 'update-all-keys');
      await req.endSession(s.id);
    }
    const sent = (e: SpdmEvent[]) =>
      e.flatMap((x) => (x.type === 'message' && x.direction === 'out' ? [toHex(x.bytes)] : []));
    assert.equal(sent(forkEvents).length, 4, 'HEARTBEAT, KEY_UPDATE, VerifyNewKey, END_SESSION');
    // The KEY_UPDATE tags come from each configuration's own (OS) random source.
    const noTags = (x: string[]) => x.filter((m) => !m.startsWith('13e9'));
    assert.deepEqual(noTags(sent(forkEvents)), noTags(sent(events.slice(mark))));
    assert.deepEqual(
      [r.sessions, r2.sessions, responder.sessions(), fork.sessions()],
      [[], [], [], []],
    );
    assert.equal(s.phase, 'ended');
  });
});
