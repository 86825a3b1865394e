/**
 * Peer bytes cannot hurt a requester state (src/spdm/requester/step.ts): whatever arrives in
 * place of a response (random bytes, a real response with a byte changed, cut short, in a
 * record or not, with DOE padding that is not zero), requesterReceive either goes on or
 * throws one of the requester's typed errors, and the state it was given is left exactly
 * as it was; requesterAbort then ends the call.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RequesterCall } from '../../src/spdm/requester/calls.ts';
import {
  SpdmErrorResponse,
  SpdmUsageError,
  SpdmVerifyError,
} from '../../src/spdm/requester/errors.ts';
import type { RequesterData } from '../../src/spdm/requester/state.ts';
import { requesterAbort, requesterReceive } from '../../src/spdm/requester/step.ts';
import type { SecuredBinding } from '../../src/wire/secured.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import type { TransportMessage } from '../../src/wire/transport.ts';
import { answer, type Link, link, receive, start, TDISP } from './requester-step-support.ts';

/** A state waiting for a reply, the reply that came, and the link's configuration. */
interface Sample {
  state: RequesterData;
  reply: TransportMessage;
  link: Link;
}

/** Runs `calls`, keeping every state that waited for a reply together with that reply. */
function collect(binding: SecuredBinding): Sample[] {
  const l = link(binding, `property ${binding}`);
  const out: Sample[] = [];
  const call = (c: RequesterCall) => {
    let r = start(l, c);
    while (!r.done) {
      const reply = answer(l, r.out!);
      out.push({ state: structuredClone(l.req), reply, link: l });
      r = receive(l, reply);
    }
    return r.done;
  };
  call({ kind: 'connect' });
  call({ kind: 'getDigests' });
  call({ kind: 'getCertificate', slot: 0 });
  call({ kind: 'challenge', slot: 0, summary: C.SPDM_MEAS_SUMMARY_NONE });
  call({ kind: 'getMeasurements', request: {} });
  const s = call({ kind: 'startSession', options: { measurementSummaryHashType: 0xff } });
  assert.ok(s.kind === 'startSession');
  const sessionId = s.result;
  call({ kind: 'heartbeat', sessionId });
  call({ kind: 'keyUpdate', sessionId, operation: 'update-all-keys' });
  call({ kind: 'getMeasurements', request: { session: sessionId, index: 1 } });
  call({
    kind: 'vendorDefined',
    sessionId,
    message: { ...TDISP, payload: Uint8Array.of(C.PCI_PROTOCOL_ID_TDISP, 7) },
  });
  call({ kind: 'raw', request: Uint8Array.of(C.SPDM_VERSION_13, C.SPDM_GET_DIGESTS, 0, 0) });
  call({ kind: 'endSession', sessionId, clearNegotiatedState: false });
  return out;
}

const typed = (e: unknown) =>
  e instanceof SpdmVerifyError || e instanceof SpdmErrorResponse || e instanceof SpdmUsageError;

describe('requesterReceive on hostile replies', () => {
  for (const binding of ['pci_doe', 'mctp'] as const) {
    it(`${binding}: only typed errors, and the state given is never changed`, () => {
      const samples = collect(binding);
      assert.ok(samples.length >= 16, `${samples.length} states waiting for a reply`);
      const arbSample = fc.nat(samples.length - 1).map((i) => samples[i]);
      const arbReply = (s: Sample): fc.Arbitrary<TransportMessage> => {
        const b = s.reply.bytes;
        return fc.oneof(
          fc.record({ secured: fc.boolean(), bytes: fc.uint8Array({ maxLength: 200 }) }),
          fc.tuple(fc.nat(), fc.nat(255)).map(([at, v]) => {
            const bytes = b.slice();
            if (bytes.length) bytes[at % bytes.length] = v;
            return { ...s.reply, bytes };
          }),
          fc.nat().map((n) => ({ ...s.reply, bytes: b.subarray(0, n % (b.length + 1)) })),
          fc.constant({ ...s.reply, secured: !s.reply.secured }),
          fc.uint8Array({ minLength: 1, maxLength: 3 }).map((pad) => ({
            secured: s.reply.secured,
            bytes: new Uint8Array([...b, ...pad]),
            maxPad: 3,
          })),
        );
      };
      fc.assert(
        fc.property(
          arbSample.chain((s) => fc.tuple(fc.constant(s), arbReply(s))),
          ([s, reply]) => {
            const before = structuredClone(s.state);
            const { reqConfig } = s.link;
            let failure: unknown;
            try {
              requesterReceive(s.state, reqConfig, reply);
            } catch (e) {
              failure = e;
              assert.ok(typed(e), `untyped: ${String(e)}`);
            }
            assert.deepStrictEqual(s.state, before, 'the state given is unchanged');
            if (failure !== undefined) {
              const after = requesterAbort(s.state, reqConfig, failure, reply);
              assert.equal(after.state.call, undefined, 'the call is over');
              assert.deepStrictEqual(s.state, before, 'abort leaves its input alone too');
            }
          },
        ),
        { numRuns: 500, seed: 7 },
      );
    });
  }
});
