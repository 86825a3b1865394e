/**
 * The DSM's CXL_IDE_KM responder (CXL 3.x 11.4): QUERY_RESP with the Caps byte and the CXL
 * IDE Capability Structure (8.2.4.22) whose status register follows the keys, GETKEY,
 * KEY_PROG status codes, K_SET_GO / K_SET_STOP, which session may key a port, what happens
 * outside a session and when the session ends, and a device without CXL IDE. Expected
 * bytes are written out from the spec's message layouts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { CxlIdeCapability } from '../../../src/device/dsm/cxl-ide-km/keys.ts';
import type { DsmEvent } from '../../../src/device/dsm/events.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { spdmEmu } from '../../../src/device/profiles/spdm-emu.ts';
import { VendorRegistry } from '../../../src/spdm/vendor.ts';
import { fromHex, toHex } from '../../../src/wire/hex.ts';
import { ctx, makeWorld, SESSION_A, SESSION_B, type World } from './harness.ts';

const ALL: CxlIdeCapability = {
  maxPortIndex: 0,
  ivGeneration: true,
  keyGeneration: true,
  kSetStop: true,
  containment: true,
};

const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const IV_HEX = '000000800000000001000000';
/** KEY_PROG: ObjectID 02 | Reserved u16 | StreamID | Reserved | KeySubStream | PortIndex | Key | IV. */
const keyProg = (kss: number, port = 0, stream = 0) =>
  fromHex(`020000${hex8(stream)}00${hex8(kss)}${hex8(port)}${KEY_HEX}${IV_HEX}`);
const hex8 = (v: number) => v.toString(16).padStart(2, '0');
/** The 7-byte stream-only objects: K_SET_GO 04, K_SET_STOP 05, GETKEY 07. */
const streamOnly = (objectId: number, kss: number, port = 0) =>
  fromHex(`${hex8(objectId)}00000000${hex8(kss)}${hex8(port)}`);

function world(cap: CxlIdeCapability = ALL, behaviour: 'spec' | 'spdm-emu' = 'spec') {
  const events: DsmEvent[] = [];
  const w = makeWorld(spdmEmu, { cxlIde: cap, behaviour }, { bus: 0xbe });
  w.dsm.onEvent((e) => events.push(e));
  return { w, events };
}

function send(w: World, bytes: Uint8Array, session = SESSION_A, conn = 1) {
  return w.dsm.cxlIdeKmHandler(ctx(session, conn), bytes);
}

function responseHex(w: World, bytes: Uint8Array, session = SESSION_A): string {
  const r = send(w, bytes, session);
  assert.equal(r.kind, 'response', JSON.stringify(r));
  return r.kind === 'response' ? toHex(r.message) : '';
}

/** QUERY_RESP for port 0 of the DSM function 0 on bus 0xbe; `status` is register 08h. */
function queryResp(caps: string, capability: string, status: string): string {
  // ObjectID 01 | Reserved | PortIndex 0 | Dev/Func 00 | Bus be | Segment 00 | MaxPortIndex 00 | Caps.
  return `01000000be0000${caps}${capability}${'00000000'}${status}${'00000000'.repeat(6)}`;
}

describe('CXL_IDE_KM QUERY', () => {
  test('QUERY_RESP: Caps 0x71 and the CXL IDE Capability Structure, status Insecure/Insecure', () => {
    const { w } = world();
    // Capability 0x00400007: CXL IDE Capable, Skid and Containment modes, IDE.Stop Capable.
    // Status 0x44: Rx and Tx IDE state 4h (Insecure).
    assert.equal(responseHex(w, fromHex('000000')), queryResp('71', '07004000', '44000000'));
  });

  test('a device without IV/key generation, K_SET_STOP and Containment reports Caps 0x01', () => {
    const { w } = world({
      ...ALL,
      ivGeneration: false,
      keyGeneration: false,
      kSetStop: false,
      containment: false,
    });
    assert.equal(responseHex(w, fromHex('000000')), queryResp('01', '03000000', '44000000'));
  });

  test('a port beyond MaxPortIndex, a short QUERY, a response object: SPDM ERROR InvalidRequest', () => {
    const { w, events } = world();
    const invalid = { kind: 'spdm-error', errorCode: 0x01 };
    assert.deepEqual(send(w, fromHex('000001')), invalid);
    assert.deepEqual(send(w, fromHex('0000')), invalid);
    assert.deepEqual(send(w, fromHex('06000000008000')), invalid);
    assert.deepEqual(send(w, new Uint8Array()), invalid);
    const malformed = events.find((e) => e.kind === 'CXL_IDE_KM_REQUEST' && e.malformed);
    assert.deepEqual(malformed?.kind === 'CXL_IDE_KM_REQUEST' && malformed.malformed, {
      field: 'PortIndex',
      offset: 2,
      kind: 'truncated',
    });
  });
});

describe('CXL_IDE_KM key programming and activation', () => {
  test("spdm-emu's flow: GETKEY, KEY_PROG RX/TX, K_SET_GO RX/TX, K_SET_STOP RX/TX", () => {
    const { w, events } = world();
    // GETKEY_ACK: the header echoed, a generated key, an IV whose first dword is 0x80000000.
    const gk = responseHex(w, streamOnly(0x07, 0x80));
    assert.equal(gk.length, 51 * 2);
    assert.equal(gk.slice(0, 14), '08000000008000');
    assert.equal(gk.slice(14 + 64, 14 + 72), '00000080');
    // KP_ACK: ObjectID 03 | Reserved | StreamID 0 | Status 00 | KSS | Port.
    assert.equal(responseHex(w, keyProg(0x80)), '03000000008000');
    assert.equal(responseHex(w, keyProg(0x82)), '03000000008200');
    // Programmed, not started: still Insecure.
    assert.equal(responseHex(w, fromHex('000000')), queryResp('71', '07004000', '44000000'));
    // K_GOSTOP_ACK echoes the request's fields.
    assert.equal(responseHex(w, streamOnly(0x04, 0x80)), '06000000008000');
    assert.equal(responseHex(w, streamOnly(0x04, 0x8a)), '0600000000' + '8a00');
    // Rx Active Skid (2h), Tx Active Containment (1h).
    assert.equal(responseHex(w, fromHex('000000')), queryResp('71', '07004000', '12000000'));
    assert.equal(responseHex(w, streamOnly(0x05, 0x80)), '06000000008000');
    assert.equal(responseHex(w, fromHex('000000')), queryResp('71', '07004000', '14000000'));
    assert.equal(responseHex(w, streamOnly(0x05, 0x82)), '06000000008200');
    assert.deepEqual(w.dsm.state.cxlIdeKm, { ports: {} });
    assert.deepEqual(
      events.flatMap((e) => (e.kind === 'CXL_IDE_STATE' ? [`${e.direction} ${e.state}`] : [])),
      ['RX SKID', 'TX CONTAINMENT', 'RX INSECURE', 'TX INSECURE'],
    );
    const active = w.dsm.state.cxlIdeKm;
    assert.equal(Object.keys(active.ports).length, 0);
  });

  test('KEY_PROG stores the key and the Pending Initial IV, or no IV when the default is asked', () => {
    const { w } = world();
    send(w, keyProg(0x80));
    send(w, keyProg(0x8a));
    const port = w.dsm.state.cxlIdeKm.ports[0];
    assert.deepEqual(port.rx.pending?.iv, [0x80000000, 0, 1]);
    assert.equal(port.rx.pending?.key[0], 0x03020100);
    assert.equal(port.tx.pending?.iv, undefined);
    assert.deepEqual(port.owner, { connectionId: 1, sessionId: SESSION_A });
  });

  const STATUS: { name: string; bytes: Uint8Array; session?: number; ack: string }[] = [
    {
      name: 'a port beyond MaxPortIndex: UnsupportedPortIndex',
      bytes: keyProg(0x80, 1),
      ack: '03000000028001',
    },
    {
      name: 'the PR sub-stream (0000b): UnsupportedValue',
      bytes: keyProg(0x00),
      ack: '03000000030000',
    },
    { name: 'reserved bit 0 set: UnsupportedValue', bytes: keyProg(0x81), ack: '03000000038100' },
    {
      name: 'one byte short: IncorrectLength',
      bytes: keyProg(0x80).subarray(0, 50),
      ack: '03000000018000',
    },
  ];
  for (const c of STATUS) {
    test(`KP_ACK status, ${c.name}`, () => {
      const { w } = world();
      assert.equal(responseHex(w, c.bytes), c.ack);
      assert.deepEqual(w.dsm.state.cxlIdeKm, { ports: {} }, 'nothing stored');
    });
  }

  test('a port keyed by one session: another session gets UnspecifiedFailure and its GO is ignored', () => {
    const { w } = world();
    send(w, keyProg(0x80));
    assert.equal(responseHex(w, keyProg(0x82), SESSION_B), '03000000048200');
    const before = structuredClone(w.dsm.state);
    assert.equal(responseHex(w, streamOnly(0x04, 0x80), SESSION_B), '06000000008000');
    assert.deepEqual(w.dsm.state, before);
  });

  test('K_SET_GO without a pending key, or in a mode the device lacks, is acknowledged without effect', () => {
    const { w, events } = world({ ...ALL, containment: false });
    assert.equal(responseHex(w, streamOnly(0x04, 0x80)), '06000000008000');
    send(w, keyProg(0x82));
    assert.equal(responseHex(w, streamOnly(0x04, 0x8a)), '0600000000' + '8a00');
    assert.equal(w.dsm.state.cxlIdeKm.ports[0].tx.active, undefined);
    assert.deepEqual(
      events.flatMap((e) =>
        e.kind === 'CXL_IDE_KM_REQUEST' && e.object === 'K_SET_GO' ? [e.result] : [],
      ),
      ['K_GOSTOP_ACK (ignored: no keys programmed)', 'K_GOSTOP_ACK (ignored: no Containment mode)'],
    );
  });

  test('without the capabilities: K_SET_STOP and GETKEY are SPDM ERROR InvalidRequest', () => {
    const { w } = world({ ...ALL, kSetStop: false, keyGeneration: false, ivGeneration: false });
    const invalid = { kind: 'spdm-error', errorCode: 0x01 };
    assert.deepEqual(send(w, streamOnly(0x05, 0x80)), invalid);
    assert.deepEqual(send(w, streamOnly(0x07, 0x80)), invalid);
  });

  test('key generation without IV generation: GETKEY_ACK carries a zero IV', () => {
    const { w } = world({ ...ALL, ivGeneration: false });
    assert.equal(responseHex(w, streamOnly(0x07, 0x80)).slice(-24), '00'.repeat(12));
  });
});

describe('CXL_IDE_KM and the SPDM session', () => {
  test("outside a session: no answer ('spec'), answered ('spdm-emu')", () => {
    const spec = world();
    assert.deepEqual(spec.w.dsm.cxlIdeKmHandler(ctx(undefined), fromHex('000000')), {
      kind: 'silent',
    });
    assert.deepEqual(spec.events.at(-1), {
      kind: 'IGNORED',
      protocol: 'CXL_IDE_KM',
      reason: 'outside-session',
    });
    const emu = world(ALL, 'spdm-emu');
    assert.equal(emu.w.dsm.cxlIdeKmHandler(ctx(undefined), fromHex('000000')).kind, 'response');
  });

  test('the session that keyed a port ends: its keys are erased, active directions Insecure', () => {
    const { w, events } = world();
    send(w, keyProg(0x80));
    send(w, streamOnly(0x04, 0x80));
    send(w, keyProg(0x82));
    w.dsm.sessionEnded(1, SESSION_B);
    assert.equal(Object.keys(w.dsm.state.cxlIdeKm.ports).length, 1, 'another session: kept');
    w.dsm.sessionEnded(1, SESSION_A);
    assert.deepEqual(w.dsm.state.cxlIdeKm, { ports: {} });
    const last = events.at(-1);
    assert.equal(
      last?.kind === 'CXL_IDE_STATE' && `${last.direction} ${last.state}`,
      'RX INSECURE',
    );
  });

  test('registration: CXL VendorID 0x1E98 only for a device with CXL IDE', () => {
    const key = { standardId: 3, vendorId: Uint8Array.of(0x98, 0x1e), protocolId: 0 };
    const withCxl = new VendorRegistry();
    world().w.dsm.registerVendorHandlers(withCxl);
    assert.ok(withCxl.lookup(key));
    const without = new VendorRegistry();
    makeWorld(nic).dsm.registerVendorHandlers(without);
    assert.equal(without.lookup(key), undefined);
    assert.ok(without.lookup({ ...key, vendorId: Uint8Array.of(0x01, 0x00) }), 'PCIe IDE_KM is');
  });
});

describe('CXL_IDE_KM responder robustness', () => {
  test('property: any bytes get a response or an SPDM ERROR, never a throw or an internal error', () => {
    const { w, events } = world();
    const valid = [
      fromHex('000000'),
      keyProg(0x80),
      streamOnly(0x04, 0x80),
      streamOnly(0x05, 0x82),
      streamOnly(0x07, 0x80),
    ];
    const arb = fc.oneof(
      fc.uint8Array({ maxLength: 60 }),
      fc
        .tuple(fc.constantFrom(...valid), fc.nat(60), fc.integer({ min: 0, max: 255 }))
        .map(([b, i, v]) => {
          const out = b.slice();
          out[i % out.length] = v;
          return out;
        }),
    );
    fc.assert(
      fc.property(arb, fc.boolean(), (b, inSession) => {
        const r = w.dsm.cxlIdeKmHandler(ctx(inSession ? SESSION_A : undefined), b);
        assert.ok(r.kind === 'response' || r.kind === 'spdm-error' || r.kind === 'silent');
      }),
    );
    assert.equal(events.filter((e) => e.kind === 'INTERNAL_ERROR').length, 0);
  });
});
