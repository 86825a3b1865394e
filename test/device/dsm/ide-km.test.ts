/**
 * The IDE_KM responder (PCIe 6.x 6.33.3): QUERY_RESP from the device's IDE capability,
 * KEY_PROG status codes, K_SET_GO / K_SET_STOP and the stream state the IDE capability
 * shows, which session programmed and started each key, key order, and what happens
 * outside a secured session. Expected bytes are built by hand from the PCIe layouts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readIdeRegisterBlock } from '../../../src/device/dsm/pci-hardware.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { nvme } from '../../../src/device/profiles/nvme.ts';
import { encodeIdeKm, type IdeKmKeyProg } from '../../../src/wire/idekm/messages.ts';
import { ctx, ideKm, lock, makeWorld, programStream, SESSION_A, type World } from './harness.ts';

const keyProgBytes = (stream: number, kss: number, port: number, len = 47): Uint8Array => {
  const b = new Uint8Array(Math.max(len, 7));
  b.set([0x02, 0, 0, stream, 0, kss, port]);
  for (let i = 7; i < b.length; i++) b[i] = i;
  return b.slice(0, len);
};

function raw(w: World, bytes: Uint8Array, session: { id: number | undefined } = { id: SESSION_A }) {
  return w.dsm.ideKmHandler(ctx(session.id), bytes);
}

describe('QUERY', () => {
  test('QUERY_RESP carries the IDE capability registers and the DSM function routing id', () => {
    const w = makeWorld(nic, {}, { bus: 0x3a });
    const r = raw(w, Uint8Array.of(0x00, 0x00, 0x00));
    assert.equal(r.kind, 'response');
    if (r.kind !== 'response') return;
    const regs = readIdeRegisterBlock(w.device)!;
    // nic: one Link stream + 4 Selective streams of 1 address block: 2 + 2 + 4 * 8 dwords.
    assert.equal(regs.length, 2 + 2 + 4 * 8);
    const expected = new Uint8Array(7 + regs.length * 4);
    expected.set([0x01, 0x00, 0x00, 0x00 /* dev 0 fn 0 */, 0x3a /* bus */, 0x00, 0x00]);
    const dv = new DataView(expected.buffer);
    for (const [i, v] of regs.entries()) dv.setUint32(7 + 4 * i, v, true);
    assert.deepEqual(r.message, expected);
    assert.equal(regs[0] & 0x43, 0x43, 'IDE Capability: Link, Selective and IDE_KM supported');
  });

  test('a port beyond MaxPortIndex is SPDM ERROR InvalidRequest', () => {
    const w = makeWorld(nic);
    assert.deepEqual(raw(w, Uint8Array.of(0x00, 0x00, 0x01)), {
      kind: 'spdm-error',
      errorCode: 0x01,
    });
  });
});

describe('KEY_PROG status codes', () => {
  test('Success echoes stream, sub-stream byte and port', () => {
    const w = makeWorld(nic);
    const r = raw(w, keyProgBytes(4, 0x13, 0));
    assert.deepEqual(r, { kind: 'response', message: Uint8Array.of(0x03, 0, 0, 4, 0x00, 0x13, 0) });
  });

  test('IncorrectLength for a key buffer of the wrong size', () => {
    const w = makeWorld(nic);
    assert.deepEqual(raw(w, keyProgBytes(4, 0x12, 0, 46)), {
      kind: 'response',
      message: Uint8Array.of(0x03, 0, 0, 4, 0x01, 0x12, 0),
    });
    assert.deepEqual(raw(w, keyProgBytes(4, 0x12, 0, 48)), {
      kind: 'response',
      message: Uint8Array.of(0x03, 0, 0, 4, 0x01, 0x12, 0),
    });
    // No header to echo: SPDM ERROR InvalidRequest.
    assert.deepEqual(raw(w, keyProgBytes(4, 0x12, 0, 5)), { kind: 'spdm-error', errorCode: 0x01 });
  });

  test('the spdm-emu behaviour answers a wrong size with SPDM ERROR InvalidRequest', () => {
    const w = makeWorld(nic, { behaviour: 'spdm-emu' });
    assert.deepEqual(raw(w, keyProgBytes(4, 0x12, 0, 46)), { kind: 'spdm-error', errorCode: 0x01 });
  });

  test('UnsupportedPortIndex', () => {
    const w = makeWorld(nic);
    assert.deepEqual(raw(w, keyProgBytes(0, 0x00, 1)), {
      kind: 'response',
      message: Uint8Array.of(0x03, 0, 0, 0, 0x02, 0x00, 1),
    });
  });

  test('UnsupportedValue for a reserved sub-stream or reserved bits', () => {
    const w = makeWorld(nic);
    for (const kss of [0x30, 0xf0, 0x04, 0x08]) {
      assert.deepEqual(raw(w, keyProgBytes(0, kss, 0)), {
        kind: 'response',
        message: Uint8Array.of(0x03, 0, 0, 0, 0x03, kss, 0),
      });
    }
  });

  test('UnspecifiedFailure when overwriting the key set in use; refresh goes through the other set', () => {
    const w = makeWorld(nic);
    programStream(w, SESSION_A);
    // PR RX K0 is active.
    assert.deepEqual(raw(w, keyProgBytes(0, 0x00, 0)), {
      kind: 'response',
      message: Uint8Array.of(0x03, 0, 0, 0, 0x04, 0x00, 0),
    });
    // K1 programs and starts; the stream stays Secure and LOCK still works.
    assert.deepEqual(raw(w, keyProgBytes(0, 0x01, 0)), {
      kind: 'response',
      message: Uint8Array.of(0x03, 0, 0, 0, 0x00, 0x01, 0),
    });
    assert.deepEqual(raw(w, Uint8Array.of(0x04, 0, 0, 0, 0, 0x01, 0)), {
      kind: 'response',
      message: Uint8Array.of(0x06, 0, 0, 0, 0, 0x01, 0),
    });
    assert.equal(w.dsm.state.ideKm.streams[0].slots['PR.RX']?.active?.keySet, 1);
    assert.equal(w.device.streamState(0), 'Secure');
    assert.equal(lock(w, SESSION_A, 1).code, 0x03);
  });
});

describe('K_SET_GO / K_SET_STOP and stream state', () => {
  test('Secure only once all six sub-stream/direction keys run; STOP makes it Insecure', () => {
    const w = makeWorld(nvme);
    programStream(w, SESSION_A, 3, { skip: '1.RX' });
    assert.equal(w.device.streamState(3), 'Insecure');
    assert.equal(w.dsm.state.ideKm.streams[3].secure, false);
    // NPR (1) RX, key set 0: the missing one.
    raw(w, keyProgBytes(3, 0x10, 0));
    assert.equal(w.device.streamState(3), 'Insecure', 'programmed is not started');
    raw(w, Uint8Array.of(0x04, 0, 0, 3, 0, 0x10, 0));
    assert.equal(w.device.streamState(3), 'Secure');
    const r = raw(w, Uint8Array.of(0x05, 0, 0, 3, 0, 0x12, 0));
    assert.deepEqual(r, { kind: 'response', message: Uint8Array.of(0x06, 0, 0, 3, 0, 0x12, 0) });
    assert.equal(w.device.streamState(3), 'Insecure');
    assert.equal(w.dsm.state.ideKm.streams[3].slots['NPR.TX']?.k0, undefined, 'stopped key erased');
  });

  test('GO for an unprogrammed key set is acknowledged without effect', () => {
    const w = makeWorld(nvme);
    const r = raw(w, Uint8Array.of(0x04, 0, 0, 7, 0, 0x20, 0));
    assert.deepEqual(r, { kind: 'response', message: Uint8Array.of(0x06, 0, 0, 7, 0, 0x20, 0) });
    assert.equal(w.dsm.state.ideKm.streams[7], undefined);
  });

  test('the session that programmed and started each key is recorded', () => {
    const w = makeWorld(nvme);
    programStream(w, SESSION_A, 0, { conn: 9 });
    const slot = w.dsm.state.ideKm.streams[0].slots['CPL.TX']!;
    assert.deepEqual(slot.k0?.programmedBy, { connectionId: 9, sessionId: SESSION_A });
    assert.deepEqual(slot.active, {
      keySet: 0,
      startedBy: { connectionId: 9, sessionId: SESSION_A },
    });
  });
});

describe('key order', () => {
  const m: IdeKmKeyProg = {
    objectId: 0x02,
    streamId: 0,
    keySubStream: { keySet: 0, direction: 'RX', subStream: 0 },
    portIndex: 0,
    key: [1, 2, 3, 4, 5, 6, 7, 8],
    ifv: [9, 10],
  };
  for (const keyOrder of ['spdm-emu', 'spdm-rs'] as const) {
    test(`${keyOrder}: the DSM stores the key the requester meant`, () => {
      const w = makeWorld(nvme, { keyOrder });
      raw(w, encodeIdeKm(m, { keyOrder }));
      const k = w.dsm.state.ideKm.streams[0].slots['PR.RX']?.k0;
      assert.deepEqual(k?.key, m.key);
      assert.deepEqual(k?.ifv, m.ifv);
    });
  }
});

describe('outside a secured session and malformed', () => {
  test('spec: no response outside a session, nothing programmed', () => {
    const w = makeWorld(nvme);
    assert.deepEqual(raw(w, keyProgBytes(0, 0, 0), { id: undefined }), { kind: 'silent' });
    assert.deepEqual(w.dsm.state.ideKm.streams, {});
  });

  test('spdm-emu: processed outside a session (and then no LOCK can use it)', () => {
    const w = makeWorld(nvme, { behaviour: 'spdm-emu' });
    const ack = ideKm(w, undefined, {
      objectId: 0x02,
      streamId: 0,
      keySubStream: { keySet: 0, direction: 'RX', subStream: 0 },
      portIndex: 0,
      key: [0, 0, 0, 0, 0, 0, 0, 0],
      ifv: [0, 0],
    });
    assert.equal(ack.objectId, 0x03);
  });

  test('empty, unknown or response objects are SPDM ERROR InvalidRequest', () => {
    const w = makeWorld(nvme);
    for (const b of [
      new Uint8Array(),
      Uint8Array.of(0x07),
      Uint8Array.of(0x01, 0, 0),
      Uint8Array.of(0x04, 0),
    ]) {
      assert.deepEqual(raw(w, b), { kind: 'spdm-error', errorCode: 0x01 });
    }
  });
});
