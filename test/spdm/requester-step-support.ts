/**
 * Shared setup of the requester step tests: a requester state and a responder state linked
 * by hand (requesterStart / requesterReceive <-> responderStep, no transport), with every
 * message that crossed logged in order.
 */
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/crypto/random.ts';
import {
  type RequesterConfig,
  type ResponderConfig,
  requesterConfig,
} from '../../src/spdm/config.ts';
import type { RequesterCall, RequesterDone } from '../../src/spdm/requester/calls.ts';
import { initialRequesterData, type RequesterData } from '../../src/spdm/requester/state.ts';
import {
  type RequesterStepResult,
  requesterReceive,
  requesterStart,
} from '../../src/spdm/requester/step.ts';
import { initialResponderState, type ResponderState } from '../../src/spdm/responder/state.ts';
import { responderStep } from '../../src/spdm/responder/step.ts';
import { toHex } from '../../src/wire/hex.ts';
import type { SecuredBinding } from '../../src/wire/secured.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import type { TransportMessage } from '../../src/wire/transport.ts';
import { setup } from './responder-support.ts';

export const TDISP = { standardId: C.SPDM_REGISTRY_ID_PCISIG, vendorId: Uint8Array.of(0x01, 0x00) };

/** Both engines' states and configurations, and every message that crossed, in order. */
export interface Link {
  req: RequesterData;
  rsp: ResponderState;
  reqConfig: RequesterConfig;
  rspConfig: ResponderConfig;
  wire: string[];
}

export function link(binding: SecuredBinding, seed: string): Link {
  const { responder, identity } = setup(binding);
  return {
    req: initialRequesterData(binding, seededRandom(seed).state()),
    rsp: initialResponderState(binding),
    // The stream carried in the state is the only randomness a step may use.
    reqConfig: requesterConfig({
      trustAnchors: [identity.ca],
      random: () => assert.fail('the configuration random source was used'),
    }),
    rspConfig: responder.config,
    wire: [],
  };
}

/** The responder's answer to `out` (responderStep by hand), logged with `out`. */
export function answer(l: Link, out: TransportMessage): TransportMessage {
  l.wire.push(`> ${out.secured ? 'S' : 'P'} ${toHex(out.bytes)}`);
  const a = responderStep(l.rsp, l.rspConfig, out);
  l.rsp = a.state;
  assert.ok(a.response, `the responder answers ${toHex(out.bytes.subarray(0, 8))}`);
  l.wire.push(`< ${a.response.secured ? 'S' : 'P'} ${toHex(a.response.bytes)}`);
  return a.response;
}

export function start(l: Link, call: RequesterCall): RequesterStepResult {
  const r = requesterStart(l.req, l.reqConfig, call);
  l.req = r.state;
  return r;
}

export function receive(l: Link, m: TransportMessage): RequesterStepResult {
  const r = requesterReceive(l.req, l.reqConfig, m);
  l.req = r.state;
  return r;
}

/** Carries a call from `r` to its end. */
export function finish(l: Link, r: RequesterStepResult): RequesterDone {
  for (let i = 0; !r.done; i++) {
    assert.ok(i < 64 && r.out, 'the call goes on with a message to send');
    r = receive(l, answer(l, r.out));
  }
  assert.equal(l.req.call, undefined, 'nothing left in flight');
  return r.done;
}

export const run = (l: Link, call: RequesterCall) => finish(l, start(l, call));

/** The request code of a message the requester sends (the code of an opened record). */
export const code = (r: RequesterStepResult) => {
  assert.ok(r.out);
  return r.out.secured ? 'sealed' : r.out.bytes[1];
};

/** The connection states (read through a call, so a test's asserts do not narrow them). */
export const states = (l: Link): [string, string] => [
  l.req.connection.state,
  l.rsp.connection.state,
];

export const responderSession = (l: Link, id: number) => l.rsp.sessions.get(id)?.session.phase;
export const requesterSession = (l: Link, id: number) => l.req.sessions.get(id)?.secured.phase;

/** VCA, DIGESTS, the slot 0 chain. */
export function authenticate(l: Link): void {
  run(l, { kind: 'connect' });
  run(l, { kind: 'getDigests' });
  run(l, { kind: 'getCertificate', slot: 0 });
}

/** KEY_EXCHANGE answered: the state waits for FINISH_RSP, FINISH on its way. */
export function afterKeyExchange(l: Link): { r: RequesterStepResult; id: number } {
  const r = receive(l, answer(l, start(l, { kind: 'startSession', options: {} }).out!));
  const id = [...l.req.sessions.keys()][0];
  return { r, id };
}
