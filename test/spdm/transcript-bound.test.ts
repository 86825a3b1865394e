/**
 * Transcripts B and M are bounded (transcript.ts, as libspdm bounds its message buffers):
 * GET_CERTIFICATE repeated with no GET_DIGESTS in between, or unsigned GET_MEASUREMENTS
 * repeated, fill the buffer up to its bound and are then answered ERROR(Unspecified) with
 * the transcript left as it was; GET_DIGESTS (or another request, for M) starts over. A
 * refused request rolls back by truncation (the transcript's arrays are not copied), so
 * the work per request does not grow with the requests before it: the figures asserted are
 * the buffer sizes and array identities, not times.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpdmResponder } from '../../src/spdm/responder/responder.ts';
import { initialResponderState } from '../../src/spdm/responder/state.ts';
import {
  appendB,
  appendM,
  connectionTranscript,
  MESSAGE_B_MAX_SIZE,
  MESSAGE_M_MAX_SIZE,
  markTranscript,
  resetB,
  rollBackTranscript,
  TranscriptFullError,
} from '../../src/spdm/transcript.ts';
import * as C from '../../src/wire/spdm/constants.ts';
import { setup, vca } from './responder-support.ts';
import { ScriptedRequester } from './scripted-requester.ts';

const V13 = C.SPDM_VERSION_13;

/** A responder over a state object the test holds (to look at its transcript). */
function observed() {
  const { responder: base } = setup();
  const state = initialResponderState('pci_doe');
  // No trace sink: 60,000 traced messages would be the test's own memory growth.
  const responder = SpdmResponder.resume({ ...base.config, onEvent: undefined }, state);
  const r = new ScriptedRequester(responder);
  vca(r);
  return { state, r };
}

/** GET_CERTIFICATE slot 0, a 256-byte portion at offset 0 (built here, not encoded). */
const getCertificate = Uint8Array.of(V13, C.SPDM_GET_CERTIFICATE, 0, 0, 0, 0, 0, 1);

describe('transcript B and M are bounded', () => {
  it('appendB / appendM throw TranscriptFullError at the bound and leave the buffer as it was', () => {
    const t = connectionTranscript();
    const block = new Uint8Array(0x1000);
    while (t.bSize + block.length <= MESSAGE_B_MAX_SIZE) appendB(t, block);
    const before = { n: t.b.length, size: t.bSize };
    assert.throws(() => appendB(t, block), TranscriptFullError);
    assert.deepEqual({ n: t.b.length, size: t.bSize }, before);
    resetB(t);
    appendB(t, block);
    assert.equal(t.bSize, block.length);
    const big = new Uint8Array(MESSAGE_M_MAX_SIZE + 1);
    assert.throws(
      () => appendM(t, big),
      (e) => e instanceof TranscriptFullError && e.buffer === 'M',
    );
    assert.equal(t.mSize, 0);
  });

  it('a mark rolls back appends and resets without copying the arrays', () => {
    const t = connectionTranscript();
    appendB(t, Uint8Array.of(1));
    const b = t.b;
    const mark = markTranscript(t);
    appendB(t, Uint8Array.of(2));
    resetB(t);
    appendB(t, Uint8Array.of(3));
    rollBackTranscript(t, mark);
    assert.equal(t.b, b, 'the marked array itself is back');
    assert.deepEqual(
      t.b.map((x) => [...x]),
      [[1]],
    );
    assert.equal(t.bSize, 1);
  });

  it('60,000 GET_CERTIFICATE: B stops at its bound, the rest are ERROR(Unspecified), GET_DIGESTS starts over', () => {
    const { state, r } = observed();
    let ok = 0;
    let refused = 0;
    const sizeAt = new Map<number, { size: number; entries: number }>();
    for (let i = 1; i <= 60_000; i++) {
      const rsp = r.sendRaw(getCertificate)!;
      if (rsp[1] === C.SPDM_CERTIFICATE) ok++;
      else {
        assert.deepEqual([rsp[1], rsp[2]], [C.SPDM_ERROR, C.SPDM_ERROR_CODE.Unspecified]);
        refused++;
      }
      if (i === 5_000 || i === 60_000) {
        sizeAt.set(i, { size: state.transcript.bSize, entries: state.transcript.b.length });
      }
    }
    assert.ok(ok > 100 && ok < 1_000, `${ok} answered before B filled`);
    assert.equal(ok + refused, 60_000);
    const at5k = sizeAt.get(5_000)!;
    assert.ok(at5k.size <= MESSAGE_B_MAX_SIZE);
    assert.deepEqual(sizeAt.get(60_000), at5k, 'B is the same at 5,000 and 60,000');
    assert.equal(at5k.entries, 2 * ok);

    // A refusal is rolled back in place: the same array, the same length.
    const b = state.transcript.b;
    r.sendRaw(getCertificate);
    assert.equal(state.transcript.b, b);
    assert.equal(b.length, at5k.entries);

    // GET_DIGESTS resets B; GET_CERTIFICATE is answered again.
    assert.equal(r.sendRaw(Uint8Array.of(V13, C.SPDM_GET_DIGESTS, 0, 0))![1], C.SPDM_DIGESTS);
    assert.equal(r.sendRaw(getCertificate)![1], C.SPDM_CERTIFICATE);
    assert.equal(state.transcript.b.length, 4);
  });

  it('unsigned GET_MEASUREMENTS repeated: M stops at its bound, then ERROR(Unspecified); another request starts over', () => {
    const { state, r } = observed();
    // GET_MEASUREMENTS, no signature, operation 1 (block 1), RequesterContext (1.3) zero.
    const getMeasurement = Uint8Array.of(
      V13,
      C.SPDM_GET_MEASUREMENTS,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    );
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 30_000 && refused < 1_000; i++) {
      const rsp = r.sendRaw(getMeasurement)!;
      if (rsp[1] === C.SPDM_MEASUREMENTS) ok++;
      else {
        assert.deepEqual([rsp[1], rsp[2]], [C.SPDM_ERROR, C.SPDM_ERROR_CODE.Unspecified]);
        refused++;
      }
    }
    assert.equal(refused, 1_000, `M filled after ${ok} answers`);
    assert.ok(state.transcript.mSize <= MESSAGE_M_MAX_SIZE);
    assert.equal(state.transcript.m.length, 2 * ok);
    assert.equal(r.sendRaw(Uint8Array.of(V13, C.SPDM_GET_DIGESTS, 0, 0))![1], C.SPDM_DIGESTS);
    assert.equal(state.transcript.mSize, 0);
    assert.equal(r.sendRaw(getMeasurement)![1], C.SPDM_MEASUREMENTS);
  });
});
