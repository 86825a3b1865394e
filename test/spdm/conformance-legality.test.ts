/**
 * Issue 7 classes 4 and 5, where a request may arrive (request-legality.ts): in a session's
 * handshake phase only FINISH is accepted (UnexpectedRequest for anything else, the session
 * goes on), session-only requests in the clear get SessionRequired from 1.2 on (Unspecified
 * before, as libspdm), connection-only requests in a session get UnexpectedRequest. The
 * expected ERRORs are written out as hex.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requesterConfig } from '../../src/spdm/config.ts';
import { RequesterContext } from '../../src/spdm/requester/context.ts';
import { SpdmUsageError } from '../../src/spdm/requester/errors.ts';
import { send } from '../../src/spdm/requester/exchange.ts';
import { initialRequesterData } from '../../src/spdm/requester/state.ts';
import { openSession } from '../../src/spdm/session.ts';
import { connectionTranscript, startSession } from '../../src/spdm/transcript.ts';
import {
  certificateChain,
  establishedSession,
  finishRequest,
  keyExchange,
  setup,
  vca,
} from './responder-support.ts';

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/ /g, ''), 'hex'));

/** Requests by hand: header (+ the fields their decoders need). */
const REQ = {
  getDigests: '13810000',
  getMeasurements: '13e00000',
  getCertificate: '13820000 00000004',
  heartbeat: '13e80000',
  keyUpdate: '13e90101',
  endSession: '13ec0000',
  getVersion: '10840000',
  challenge: `13830000${'00'.repeat(32)}`,
  vendorTdisp: '13fe0000 0300 02 0100 0500 01 10 81 0000',
};

describe('class 4: requests in the handshake phase', () => {
  const rows: [string, string, string][] = [
    ['GET_MEASUREMENTS', REQ.getMeasurements, '137f0400'],
    ['GET_DIGESTS', REQ.getDigests, '137f0400'],
    ['GET_CERTIFICATE', REQ.getCertificate, '137f0400'],
    ['HEARTBEAT', REQ.heartbeat, '137f0400'],
    ['KEY_UPDATE', REQ.keyUpdate, '137f0400'],
    ['END_SESSION', REQ.endSession, '137f0400'],
    ['VENDOR_DEFINED_REQUEST', REQ.vendorTdisp, '137f0400'],
    ['CHALLENGE', REQ.challenge, '137f0400'],
    ['GET_VERSION', REQ.getVersion, '107f0400'],
  ];
  for (const [name, req, expect] of rows) {
    it(`${name} after KEY_EXCHANGE_RSP, before FINISH_RSP -> ${expect}; FINISH still works`, () => {
      const { r, responder } = setup();
      vca(r);
      const x = keyExchange(r, certificateChain(r));
      assert.equal(hex(r.sendSecuredRaw(x.s, bytes(req))), expect);
      assert.deepEqual(
        responder.sessions().map((s) => s.phase),
        ['handshake'],
      );
      const fin = r.sendSecuredRaw(x.s, finishRequest(r, x));
      assert.equal(hex(fin).slice(0, 8), '13650000');
    });
  }
});

describe('class 5: requests that must (not) arrive in a session', () => {
  const clear: [string, number, string, string][] = [
    ['FINISH', 0x13, `13e50000${'00'.repeat(48)}`, '137f0b00'],
    ['FINISH', 0x12, `12e50000${'00'.repeat(48)}`, '127f0b00'],
    ['FINISH', 0x11, `11e50000${'00'.repeat(48)}`, '117f0500'],
    ['PSK_FINISH', 0x13, `13e70000${'00'.repeat(48)}`, '137f0b00'],
    ['HEARTBEAT', 0x13, '13e80000', '137f0b00'],
    ['HEARTBEAT', 0x11, '11e80000', '117f0500'],
    ['KEY_UPDATE', 0x12, '12e90101', '127f0b00'],
    ['END_SESSION', 0x13, '13ec0000', '137f0b00'],
    ['END_SESSION', 0x11, '11ec0000', '117f0500'],
  ];
  for (const [name, version, req, expect] of clear) {
    it(`${name} in the clear at 0x${version.toString(16)} -> ${expect}`, () => {
      const { r } = setup();
      vca(r, { version });
      assert.equal(hex(r.sendRaw(bytes(req))), expect);
    });
  }

  const inside: [string, string, string][] = [
    ['GET_VERSION', REQ.getVersion, '107f0400'],
    ['CHALLENGE', REQ.challenge, '137f0400'],
    ['FINISH (session established)', `13e50000${'00'.repeat(48)}`, '137f0400'],
  ];
  for (const [name, req, expect] of inside) {
    it(`${name} inside an established session -> ${expect}`, () => {
      const { r } = setup();
      vca(r);
      const x = establishedSession(r, certificateChain(r));
      assert.equal(hex(r.sendSecuredRaw(x.s, bytes(req))), expect);
    });
  }
});

describe('class 4: the requester refuses what the table forbids', () => {
  const sessionTranscript = () => {
    const t = connectionTranscript();
    t.hash = 'sha384';
    return startSession(t);
  };
  /** A requester step context with one session in `kind`'s handshake phase. */
  function core(kind: 'dhe' | 'psk') {
    const data = initialRequesterData();
    const secured = openSession({
      id: 0x01010101,
      kind,
      binding: 'pci_doe',
      role: 'requester',
      schedule: { version: 0x13, hash: 'sha384', aeadKeySize: 32 },
      aead: 'aes-256-gcm',
    });
    data.sessions.set(secured.id, {
      secured,
      transcript: sessionTranscript(),
      slot: 0,
      heartbeatPeriod: 240,
      securedMessageVersion: 0x1100,
    });
    const c = new RequesterContext(requesterConfig(), {}, data);
    return { c, s: secured.id };
  }
  const rows: [string, 'dhe' | 'psk', string, RegExp][] = [
    [
      'GET_MEASUREMENTS',
      'dhe',
      REQ.getMeasurements,
      /GET_MEASUREMENTS cannot be sent in session 0x1010101 before its handshake finished \(DSP0274: the responder answers UnexpectedRequest\)/,
    ],
    [
      'HEARTBEAT',
      'psk',
      REQ.heartbeat,
      /HEARTBEAT cannot be sent in session .* before its handshake finished/,
    ],
    ['FINISH in a PSK session', 'psk', `13e50000${'00'.repeat(48)}`, /FINISH cannot be sent/],
    [
      'PSK_FINISH in a DHE session',
      'dhe',
      `13e70000${'00'.repeat(48)}`,
      /PSK_FINISH cannot be sent/,
    ],
  ];
  for (const [name, kind, req, message] of rows) {
    it(`${name}: SpdmUsageError, nothing sent`, () => {
      const { c, s } = core(kind);
      assert.throws(
        () =>
          send(c, {
            request: bytes(req),
            expect: { code: undefined, codec: undefined },
            route: { sessionId: s },
          }),
        (e: unknown) => {
          assert.ok(e instanceof SpdmUsageError, String(e));
          assert.match(e.message, message);
          return true;
        },
      );
      assert.deepEqual(c.events, [], 'not even traced as sent');
    });
  }
  it('END_SESSION in the clear: SpdmUsageError naming SessionRequired', () => {
    const { c } = core('dhe');
    assert.throws(
      () =>
        send(c, { request: bytes(REQ.endSession), expect: { code: undefined, codec: undefined } }),
      /END_SESSION cannot be sent in the clear \(DSP0274: the responder answers SessionRequired\)/,
    );
    assert.deepEqual(c.events, []);
  });
});
