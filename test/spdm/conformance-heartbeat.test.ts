/**
 * Issue 7 class 1, HEARTBEAT (DSP0274 1.3 section 10.20): a teeio responder sends a
 * non-zero HeartbeatPeriod by default (spdm-emu's 240 s, 0xF0), ends a session it hears
 * nothing in for twice the period (injected clock, no waiting), keeps one alive while
 * messages arrive; the requester exposes the period and refuses HEARTBEAT when it is 0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SpdmEvent } from '../../src/spdm/events.ts';
import { SpdmUsageError } from '../../src/spdm/requester/index.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { authenticate, generatedIdentity, makePair } from './requester-support.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The KEY_EXCHANGE_RSP header the responder sent. */
function keyExchangeRspHeader(events: SpdmEvent[]): string {
  const m = events.find(
    (e) => e.type === 'message' && e.direction === 'out' && e.code === C.SPDM_KEY_EXCHANGE_RSP,
  );
  assert.ok(m && m.type === 'message');
  return hex(m.bytes.subarray(0, 4));
}

describe('class 1: HeartbeatPeriod in KEY_EXCHANGE_RSP', () => {
  const rows: { name: string; period?: number; requesterHbeat: boolean; expect: string }[] = [
    { name: 'default', requesterHbeat: true, expect: '1364f000' },
    { name: '--heartbeat 5', period: 5, requesterHbeat: true, expect: '13640500' },
    { name: '--heartbeat 0', period: 0, requesterHbeat: true, expect: '13640000' },
    { name: 'requester without HBEAT_CAP', requesterHbeat: false, expect: '13640000' },
  ];
  for (const row of rows) {
    it(`${row.name}: header ${row.expect}`, async () => {
      const { requester, responderEvents } = makePair({
        identity: await generatedIdentity(),
        responder: row.period === undefined ? {} : { heartbeatPeriod: row.period },
        requester: row.requesterHbeat
          ? {}
          : {
              capabilities:
                C.SPDM_CAP.CERT_CAP |
                C.SPDM_CAP.CHAL_CAP |
                C.SPDM_CAP.ENCRYPT_CAP |
                C.SPDM_CAP.MAC_CAP |
                C.SPDM_CAP.KEY_EX_CAP,
            },
      });
      await authenticate(requester);
      const s = await requester.startSession();
      assert.equal(keyExchangeRspHeader(responderEvents), row.expect);
      assert.equal(s.heartbeatPeriod, Number.parseInt(row.expect.slice(4, 6), 16));
      if (s.heartbeatPeriod === 0) {
        // libspdm's requester sends no HEARTBEAT then; neither does teeio's.
        await assert.rejects(requester.heartbeat(s), (e: unknown) => {
          assert.ok(e instanceof SpdmUsageError, String(e));
          assert.match(e.message, /HeartbeatPeriod 0|HBEAT_CAP/);
          return true;
        });
      } else {
        await requester.heartbeat(s);
      }
      await requester.endSession(s);
    });
  }
});

describe('class 1: the responder ends a session idle for twice the HeartbeatPeriod', () => {
  it('kept alive by messages, ended 2 x 240 s after the last one', async () => {
    let now = 1_000_000;
    const { requester, responder, responderEvents } = makePair({
      identity: await generatedIdentity(),
      responder: { now: () => now },
    });
    await authenticate(requester);
    const s = await requester.startSession();
    assert.equal(s.heartbeatPeriod, 240);
    const limit = 2 * 240 * 1000;
    // Three times almost the limit, each time a message arrives: still alive.
    for (let i = 0; i < 3; i++) {
      now += limit - 1;
      assert.deepEqual(responder.expireIdleSessions(), []);
      await requester.heartbeat(s);
    }
    now += limit - 1;
    await requester.getMeasurements({ session: s, index: 1 });
    assert.deepEqual(
      responder.sessions().map((x) => x.phase),
      ['established'],
    );
    // Then silence for exactly twice the period: gone.
    now += limit;
    assert.deepEqual(responder.expireIdleSessions(), [s.id]);
    assert.deepEqual(responder.sessions(), []);
    const ended = responderEvents.filter((e) => e.type === 'session' && e.phase === 'ended');
    assert.deepEqual(
      ended.map((e) => e.type === 'session' && e.cause),
      ['heartbeat-timeout'],
    );
  });

  it('the next message ends idle sessions first (no timer needed)', async () => {
    let now = 0;
    const { requester, responder } = makePair({
      identity: await generatedIdentity(),
      responder: { now: () => now, heartbeatPeriod: 1 },
    });
    await authenticate(requester);
    const a = await requester.startSession();
    now += 1500;
    const b = await requester.startSession(); // a message in the clear, then b's own
    now += 600; // a: 2.1 s idle; b: 0.6 s
    await requester.getDigests();
    assert.deepEqual(
      responder.sessions().map((x) => x.sessionId),
      [b.id],
    );
    assert.notEqual(a.id, b.id);
  });

  it('a period of 0 never ends a session', async () => {
    let now = 0;
    const { requester, responder } = makePair({
      identity: await generatedIdentity(),
      responder: { now: () => now, heartbeatPeriod: 0 },
    });
    await authenticate(requester);
    await requester.startSession();
    now += 10 ** 9;
    assert.deepEqual(responder.expireIdleSessions(), []);
    assert.equal(responder.sessions().length, 1);
  });
});
