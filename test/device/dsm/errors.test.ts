/**
 * Generic TDISP request handling (PCIe 6.x 11.3.3 "Generic Error Response Codes", WIRE.md
 * spdm-emu quirks): no session, short, wrong version, unsupported, malformed, unknown
 * interface; GET_TDISP_CAPABILITIES contents; and robustness: no peer bytes make either
 * responder throw, and every response decodes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { DsmEvent } from '../../../src/device/dsm/events.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { decodeIdeKm } from '../../../src/wire/idekm/messages.ts';
import { decodeTdisp, encodeTdisp } from '../../../src/wire/tdisp/messages.ts';
import {
  ctx,
  defaultBody,
  interfaceIdOf,
  lock,
  makeWorld,
  programStream,
  SESSION_A,
  tdisp,
  tdispMsg,
  tdispReq,
  type World,
} from './harness.ts';

/** TDISP_ERROR as the PCIe layout puts it, for requester id `rid`, version `v`. */
function errorBytes(rid: number, code: number, data = 0, v = 0x10): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  b[0] = v;
  b[1] = 0x7f;
  dv.setUint16(4, rid, true);
  dv.setUint32(16, code, true);
  dv.setUint32(20, data, true);
  return b;
}

function header(code: number, rid: number, v = 0x10): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = v;
  b[1] = code;
  new DataView(b.buffer).setUint16(4, rid, true);
  return b;
}

const FN = 1;

describe('generic TDISP errors, spec behaviour', () => {
  const w = makeWorld(nic);
  const rid = w.device.requesterId(FN);

  test('outside a secured session: no response, no state change', () => {
    programStream(w, SESSION_A);
    const lockReq = tdispReq(0x83, interfaceIdOf(w.device, FN), defaultBody(0x83));
    assert.deepEqual(w.dsm.tdispHandler(ctx(undefined), lockReq), { kind: 'silent' });
    assert.equal(w.dsm.tdiState(FN), 'CONFIG_UNLOCKED');
  });

  test('shorter than the header: SPDM ERROR InvalidRequest', () => {
    assert.deepEqual(tdisp(w, SESSION_A, header(0x85, rid).slice(0, 15)), {
      kind: 'spdm-error',
      errorCode: 0x01,
    });
  });

  test('wrong version: VERSION_MISMATCH, checked before anything else', () => {
    const r = tdisp(w, SESSION_A, header(0x83, rid, 0x11)); // also too short for LOCK
    assert.deepEqual(r, { kind: 'response', message: errorBytes(rid, 0x41) });
    assert.deepEqual(tdisp(w, SESSION_A, header(0x81, rid, 0x20)), {
      kind: 'response',
      message: errorBytes(rid, 0x41),
    });
  });

  test('GET_TDISP_VERSION of any 1.x version is answered with 1.0', () => {
    const r = tdisp(w, SESSION_A, header(0x81, rid, 0x13));
    const want = new Uint8Array(18);
    want.set(header(0x01, rid));
    want.set([1, 0x10], 16);
    assert.deepEqual(r, { kind: 'response', message: want });
  });

  test('unsupported request codes: UNSUPPORTED_REQUEST with ErrorData = the code', () => {
    for (const code of [0x8b, 0x8c, 0x01, 0x7f, 0x90, 0xff, 0x00]) {
      assert.deepEqual(tdisp(w, SESSION_A, header(code, rid)), {
        kind: 'response',
        message: errorBytes(rid, 0x07, code),
      });
    }
  });

  test('malformed requests: INVALID_REQUEST', () => {
    const cases = [
      header(0x83, rid), // LOCK without its body
      Uint8Array.of(...header(0x85, rid), 0), // GET_STATE with a trailing byte
      Uint8Array.of(...header(0x88, rid), 1, 0), // BIND_P2P with the TDISP 1.1 STREAM_CONFIG
      Uint8Array.of(...header(0x86, rid), ...new Uint8Array(31)), // START with a short nonce
    ];
    for (const m of cases) {
      assert.deepEqual(tdisp(w, SESSION_A, m), {
        kind: 'response',
        message: errorBytes(rid, 0x01),
      });
    }
  });

  test('malformed requests: the trace keeps the WireError field, offset and kind', () => {
    const events: DsmEvent[] = [];
    const off = w.dsm.onEvent((e) => events.push(e));
    // GET_STATE with a trailing byte at 16; QUERY cut before PortIndex (byte 2).
    tdisp(w, SESSION_A, Uint8Array.of(...header(0x85, rid), 0));
    w.dsm.ideKmHandler(ctx(SESSION_A), Uint8Array.of(0x00, 0x00));
    off();
    const rejected = events.filter(
      (e) => e.kind === 'TDISP_REQUEST' || e.kind === 'IDE_KM_REQUEST',
    );
    assert.deepEqual(
      rejected.map((e) => e.malformed),
      [
        { field: '(end)', offset: 16, kind: 'trailing' },
        { field: 'PortIndex', offset: 2, kind: 'truncated' },
      ],
    );
  });

  test('unknown or unassignable interfaces: INVALID_INTERFACE', () => {
    const pf0 = w.device.requesterId(0); // the NIC's PF0 hosts the DSM and is not a TDI
    assert.deepEqual(tdisp(w, SESSION_A, header(0x85, pf0)), {
      kind: 'response',
      message: errorBytes(pf0, 0x101),
    });
    assert.deepEqual(tdisp(w, SESSION_A, header(0x85, 0xbeef)), {
      kind: 'response',
      message: errorBytes(0xbeef, 0x101),
    });
    const seg = header(0x85, rid);
    seg[6] = 3; // segment 3, valid
    seg[7] = 0x01;
    const r = tdisp(w, SESSION_A, seg);
    assert.equal(r.kind, 'response');
    if (r.kind === 'response')
      assert.equal(new DataView(r.message.buffer).getUint32(16, true), 0x101);
  });

  test('GET_TDISP_CAPABILITIES', () => {
    const m = tdispMsg(w, SESSION_A, tdispReq(0x82, interfaceIdOf(w.device, FN), { tsmCaps: 0 }));
    assert.equal(m.code, 0x02);
    if (m.code !== 0x02) return;
    assert.deepEqual(m.reqMsgsSupported, Uint8Array.of(0xfe, 0x07, ...new Uint8Array(14)));
    assert.equal(m.lockInterfaceFlagsSupported, 0x1f);
    assert.equal(m.dsmCaps, 0);
  });
});

describe('generic TDISP errors, spdm-emu behaviour', () => {
  const w = makeWorld(nic, { behaviour: 'spdm-emu' });
  const rid = w.device.requesterId(FN);

  test('size is checked before the version; the version byte is echoed', () => {
    assert.deepEqual(tdisp(w, SESSION_A, header(0x83, rid, 0x11)), {
      kind: 'response',
      message: errorBytes(rid, 0x01, 0, 0x11),
    });
    assert.deepEqual(tdisp(w, SESSION_A, header(0x85, rid, 0x11)), {
      kind: 'response',
      message: errorBytes(rid, 0x41, 0, 0x11),
    });
    assert.deepEqual(tdisp(w, SESSION_A, header(0x81, rid, 0x11)), {
      kind: 'response',
      message: errorBytes(rid, 0x41, 0, 0x11),
    });
  });

  test('only 0x81..0x87 are answered', () => {
    assert.deepEqual(tdisp(w, SESSION_A, Uint8Array.of(...header(0x88, rid), 1)), {
      kind: 'response',
      message: errorBytes(rid, 0x07, 0x88),
    });
  });

  test('GET_TDISP_CAPABILITIES as spdm-emu answers it', () => {
    const m = tdispMsg(w, SESSION_A, tdispReq(0x82, interfaceIdOf(w.device, FN), { tsmCaps: 0 }));
    assert.equal(m.code, 0x02);
    if (m.code !== 0x02) return;
    assert.deepEqual(m.reqMsgsSupported, Uint8Array.of(0xfe, ...new Uint8Array(15)));
    assert.deepEqual(
      [m.lockInterfaceFlagsSupported, m.devAddrWidth, m.numReqThis, m.numReqAll],
      [0x07, 48, 0, 0],
    );
  });
});

describe('robustness: peer bytes never make the responders throw', () => {
  function fuzzWorld(): { w: World; internal: DsmEvent[] } {
    const w = makeWorld(nic);
    const internal: DsmEvent[] = [];
    w.dsm.onEvent((e) => {
      if (e.kind === 'INTERNAL_ERROR') internal.push(e);
    });
    programStream(w, SESSION_A);
    lock(w, SESSION_A, 1, { flags: 0x1d });
    return { w, internal };
  }

  test('TDISP: mutated valid requests and random bytes', () => {
    const { w, internal } = fuzzWorld();
    const ids = [1, 2, 3].map((fn) => interfaceIdOf(w.device, fn));
    const valid = fc
      .tuple(
        fc.constantFrom(0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b),
        fc.constantFrom(...ids),
      )
      .map(([code, id]) => tdispReq(code, id, defaultBody(code)));
    const mutated = fc
      .tuple(
        valid,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(40),
      )
      .map(([b, edits, cut]) => {
        const out = b.slice(0, Math.max(0, b.length - (cut % 4 === 0 ? cut % b.length : 0)));
        for (const [at, v] of edits) if (out.length) out[at % out.length] = v;
        return out;
      });
    const input = fc.oneof(mutated, fc.uint8Array({ maxLength: 80 }), valid);
    fc.assert(
      fc.property(input, fc.constantFrom(SESSION_A, 7, undefined), (bytes, sid) => {
        const r = w.dsm.tdispHandler(ctx(sid), bytes);
        if (r.kind === 'response') decodeTdisp(r.message);
      }),
      { numRuns: 3000 },
    );
    assert.deepEqual(internal, []);
  });

  test('IDE_KM: mutated valid requests and random bytes', () => {
    const { w, internal } = fuzzWorld();
    const base = [
      Uint8Array.of(0, 0, 0),
      Uint8Array.of(2, 0, 0, 0, 0, 0x10, 0, ...new Uint8Array(40)),
      Uint8Array.of(4, 0, 0, 0, 0, 0x10, 0),
      Uint8Array.of(5, 0, 0, 0, 0, 0x10, 0),
    ];
    const mutated = fc
      .tuple(
        fc.constantFrom(...base),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      )
      .map(([b, edits]) => {
        const out = b.slice();
        for (const [at, v] of edits) out[at % out.length] = v;
        return out;
      });
    fc.assert(
      fc.property(
        fc.oneof(mutated, fc.uint8Array({ maxLength: 60 })),
        fc.constantFrom(SESSION_A, 9),
        (bytes, sid) => {
          const r = w.dsm.ideKmHandler(ctx(sid), bytes);
          if (r.kind === 'response') decodeIdeKm(r.message);
        },
      ),
      { numRuns: 3000 },
    );
    assert.deepEqual(internal, []);
  });

  test('encodeTdisp of every DSM response round-trips (responses are well-formed)', () => {
    const w = makeWorld(nic);
    programStream(w, SESSION_A);
    for (const code of [0x81, 0x82, 0x83, 0x84, 0x85]) {
      const r = tdisp(w, SESSION_A, tdispReq(code, interfaceIdOf(w.device, FN), defaultBody(code)));
      assert.equal(r.kind, 'response');
      if (r.kind === 'response') assert.deepEqual(encodeTdisp(decodeTdisp(r.message)), r.message);
    }
  });
});
