/**
 * The responder as a transition (src/spdm/responder/step.ts): its state is plain data, so
 * a structuredClone taken mid-session is a second responder that answers the same records
 * with the same bytes; and responderStep alone, with no transport and no SpdmResponder,
 * carries a whole session (VCA, certificate, KEY_EXCHANGE, FINISH, HEARTBEAT, END_SESSION)
 * from requests built by the scripted requester.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SpdmEvent } from '../../src/spdm/events.ts';
import { SpdmResponder } from '../../src/spdm/responder/responder.ts';
import { initialResponderState, type ResponderState } from '../../src/spdm/responder/state.ts';
import { responderStep } from '../../src/spdm/responder/step.ts';
import { updateKey } from '../../src/spdm/session.ts';
import type { TransportMessage } from '../../src/transport/types.ts';
import { toHex } from '../../src/wire/hex.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { certificateChain, establishedSession, setup, vca } from './responder-support.ts';
import { ScriptedRequester } from './scripted-requester.ts';

const V13 = C.SPDM_VERSION_13;
const hdr = (code: number, p1 = 0, p2 = 0) => Uint8Array.of(V13, code, p1, p2);

describe('responder state as data', () => {
  it('a clone taken after FINISH answers the next records byte for byte like the original', () => {
    const { responder, r } = setup('pci_doe');
    vca(r);
    const x = establishedSession(r, certificateChain(r));
    const fork = SpdmResponder.resume(responder.config, responder.stateSnapshot());
    assert.deepEqual(fork.sessions(), responder.sessions());

    /** One record to both responders: the same answer, which the requester then opens. */
    const both = (request: Uint8Array): Uint8Array => {
      const record: TransportMessage = { secured: true, bytes: r.seal(x.s, request) };
      const a = responder.handle(record);
      const b = fork.handle(record);
      assert.ok(a?.secured && b?.secured, 'both answer in the session');
      assert.equal(toHex(b.bytes), toHex(a.bytes));
      return r.open(x.s, a.bytes);
    };
    assert.equal(both(hdr(C.SPDM_HEARTBEAT))[1], C.SPDM_HEARTBEAT_ACK);
    assert.equal(
      both(hdr(C.SPDM_KEY_UPDATE, C.SPDM_KEY_UPDATE_OP.UpdateKey, 1))[1],
      C.SPDM_KEY_UPDATE_ACK,
    );
    x.s.secured = updateKey(x.s.secured, 'request', false);
    const verified = both(hdr(C.SPDM_KEY_UPDATE, C.SPDM_KEY_UPDATE_OP.VerifyNewKey, 2));
    assert.deepEqual([...verified.subarray(1, 4)], [C.SPDM_KEY_UPDATE_ACK, 3, 2]);
    assert.equal(both(hdr(C.SPDM_END_SESSION))[1], C.SPDM_END_SESSION_ACK);
    assert.deepEqual(responder.sessions(), []);
    assert.deepEqual(fork.sessions(), []);
  });

  it('the clone is independent: a record the original consumed still opens in the clone once', () => {
    const { responder, r } = setup('pci_doe');
    vca(r);
    const x = establishedSession(r, certificateChain(r));
    const snapshot = responder.stateSnapshot();
    const record: TransportMessage = { secured: true, bytes: r.seal(x.s, hdr(C.SPDM_HEARTBEAT)) };
    assert.ok(responder.handle(record)?.secured);
    // Replayed at the original: DecryptError and the session ends there only.
    responder.handle(record);
    assert.deepEqual(responder.sessions(), []);
    const fork = SpdmResponder.resume(responder.config, snapshot);
    const answer = fork.handle(record);
    assert.ok(answer?.secured);
    assert.equal(r.open(x.s, answer.bytes)[1], C.SPDM_HEARTBEAT_ACK);
    assert.equal(fork.sessions()[0]?.phase, 'established');
  });
});

describe('responderStep without a driver', () => {
  it('carries a whole DHE session from bytes fed by hand; every state structuredClones', () => {
    const config = { ...setup('pci_doe').responder.config, onEvent: undefined };
    let state: ResponderState = initialResponderState('pci_doe');
    const events: SpdmEvent[] = [];
    const step = {
      handle(m: TransportMessage): TransportMessage | undefined {
        const out = responderStep(state, config, m);
        state = out.state;
        events.push(...out.events);
        // Plain data all the way: no class instances, closures or KeyObjects inside.
        structuredClone(state);
        return out.response;
      },
    };
    const r = new ScriptedRequester(step, 'pci_doe');
    vca(r);
    assert.equal(state.connection.state, 'NEGOTIATED');
    const x = establishedSession(r, certificateChain(r));
    assert.equal(state.sessions.get(x.sid)?.session.phase, 'established');
    assert.equal(
      r.exchange({ version: V13, code: C.SPDM_HEARTBEAT }, x.s).rsp.code,
      C.SPDM_HEARTBEAT_ACK,
    );
    const end = r.exchange(
      { version: V13, code: C.SPDM_END_SESSION, preserveNegotiatedStateClear: true },
      x.s,
    );
    assert.equal(end.rsp.code, C.SPDM_END_SESSION_ACK);
    assert.equal(state.sessions.size, 0);
    const phases = events.flatMap((e) =>
      e.type === 'session' ? [`${e.phase}${e.cause ? `:${e.cause}` : ''}`] : [],
    );
    assert.deepEqual(phases, ['handshake', 'established', 'ended:end-session']);
    const codes = events.flatMap((e) =>
      e.type === 'message' && e.direction === 'out' ? [e.code] : [],
    );
    assert.deepEqual(codes.slice(-2), [C.SPDM_HEARTBEAT_ACK, C.SPDM_END_SESSION_ACK]);
  });

  it('a rejected request leaves the state as it was', () => {
    const config = { ...setup('pci_doe').responder.config, onEvent: undefined };
    const state = initialResponderState('pci_doe');
    const before = structuredClone(state);
    // GET_DIGESTS before VCA: UnexpectedRequest, nothing changes.
    const out = responderStep(state, config, { secured: false, bytes: hdr(C.SPDM_GET_DIGESTS) });
    assert.ok(out.response);
    assert.deepEqual(
      [...out.response.bytes.subarray(1, 3)],
      [C.SPDM_ERROR, C.SPDM_ERROR_CODE.UnexpectedRequest],
    );
    assert.deepEqual(out.state, before);
    assert.ok(out.events.some((e) => e.type === 'error-response'));
  });
});
