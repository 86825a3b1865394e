/**
 * The Dsm composition: registration with the SPDM responder's vendor-defined dispatch
 * (PCI-SIG StandardID 3, VendorID 01 00, ProtocolID 0 / 1), a DSM on minimal hardware
 * (default IDE register block, no T-bit hook), snapshots, events, session end.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Dsm } from '../../../src/device/dsm/dsm.ts';
import type { DsmEvent } from '../../../src/device/dsm/events.ts';
import { type DsmHardware, defaultIdeRegisters } from '../../../src/device/dsm/hardware.ts';
import type { ConfigEventRecord, FunctionSecurityView } from '../../../src/device/events.ts';
import { nvme } from '../../../src/device/profiles/nvme.ts';
import { VendorRegistry } from '../../../src/spdm/vendor.ts';
import {
  ctx,
  defaultBody,
  interfaceIdOf,
  lock,
  makeWorld,
  programStream,
  SESSION_A,
  tdispReq,
} from './harness.ts';

describe('registerVendorHandlers', () => {
  test('IDE_KM and TDISP under the PCI-SIG registry; other vendors stay unregistered', () => {
    const w = makeWorld(nvme);
    const reg = new VendorRegistry();
    w.dsm.registerVendorHandlers(reg);
    const pcisig = Uint8Array.of(0x01, 0x00);
    assert.equal(
      reg.lookup({ standardId: 3, vendorId: pcisig, protocolId: 0 }),
      w.dsm.ideKmHandler,
    );
    assert.equal(
      reg.lookup({ standardId: 3, vendorId: pcisig, protocolId: 1 }),
      w.dsm.tdispHandler,
    );
    assert.equal(reg.lookup({ standardId: 3, vendorId: pcisig, protocolId: 2 }), undefined);
    assert.equal(
      reg.lookup({ standardId: 3, vendorId: Uint8Array.of(0x98, 0x1e), protocolId: 0 }),
      undefined,
    );
    const tdisp = reg.lookup({ standardId: 3, vendorId: pcisig, protocolId: 1 })!;
    const r = tdisp(ctx(SESSION_A), tdispReq(0x85, interfaceIdOf(w.device, 0)));
    assert.equal(r.kind, 'response');
  });
});

describe('a DSM on minimal hardware', () => {
  const view: FunctionSecurityView = {
    fn: 5,
    requesterId: 0x0105,
    bars: [
      {
        index: 0,
        address: 0x8000_0000n,
        size: 0x4000n,
        is64: false,
        prefetchable: false,
        memory: true,
      },
    ],
    pasidEnabled: false,
    atsEnabled: false,
    prsEnabled: false,
    lnrControl: 0,
    tphControl: 0,
    nonTeeRanges: [],
    memorySpaceEnabled: true,
    busMasterEnabled: true,
  };
  function minimal() {
    const calls: string[] = [];
    let listener: ((r: ConfigEventRecord) => void) | undefined;
    const hw: DsmHardware = {
      tdiFunctions: () => [5],
      securityView: (fn) => (fn === 5 ? view : undefined),
      onSecurityEvent: (l) => {
        listener = l;
      },
      streamLeftSecure: (id) => calls.push(`stream ${id} left Secure`),
      scrub: (fn) => calls.push(`scrub ${fn}`),
    };
    const dsm = new Dsm(hw);
    return { dsm, calls, fire: (r: ConfigEventRecord) => listener!(r) };
  }

  test('QUERY_RESP falls back to the default register block', () => {
    const { dsm } = minimal();
    const r = dsm.ideKmHandler(ctx(SESSION_A), Uint8Array.of(0, 0, 0));
    assert.equal(r.kind, 'response');
    if (r.kind !== 'response') return;
    assert.equal(r.message.length, 7 + 4 * defaultIdeRegisters().length);
    assert.equal(new DataView(r.message.buffer).getUint32(7, true), 0x42);
  });

  test('effects reach the hardware in order; events follow; snapshot and restore', () => {
    const { dsm, calls, fire } = minimal();
    const events: DsmEvent[] = [];
    const off = dsm.onEvent((e) => events.push(e));
    const w = { dsm } as never;
    programStream(w, SESSION_A);
    // The stream's state is the DSM's: the hardware reads it, nothing is pushed.
    assert.deepEqual(calls, []);
    assert.equal(dsm.teePolicy.streamSecure(0), true);
    const id = { requesterId: 0x0105, segment: 0, segmentValid: false };
    const m = dsm.tdispHandler(ctx(SESSION_A), tdispReq(0x83, id, defaultBody(0x83)));
    assert.equal(m.kind, 'response');
    assert.equal(dsm.tdiState(5), 'CONFIG_LOCKED');
    assert.equal(dsm.teePolicy.msixLocked(5), false, 'the view has no MSI-X to lock');
    const snap = dsm.snapshot();
    fire({ fn: 5, event: { kind: 'BAR_WRITE', bar: 0 } });
    assert.equal(dsm.tdiState(5), 'ERROR');
    assert.ok(events.some((e) => e.kind === 'ERROR_TRIGGER' && e.tdis.includes(5)));
    dsm.restore(snap);
    assert.equal(dsm.tdiState(5), 'CONFIG_LOCKED');
    off();
    const n = events.length;
    dsm.tdispHandler(ctx(SESSION_A), tdispReq(0x87, id));
    assert.equal(events.length, n, 'unsubscribed');
    assert.deepEqual(calls, ['scrub 5']);
  });

  test('the end of the locking session: stream Insecure, TDI to ERROR', () => {
    const { dsm, calls } = minimal();
    programStream({ dsm } as never, SESSION_A);
    const id = { requesterId: 0x0105, segment: 0, segmentValid: false };
    dsm.tdispHandler(ctx(SESSION_A), tdispReq(0x83, id, defaultBody(0x83)));
    dsm.sessionEnded(1, 0x1234); // another session: nothing
    assert.equal(dsm.tdiState(5), 'CONFIG_LOCKED');
    dsm.sessionEnded(1, SESSION_A);
    assert.equal(dsm.tdiState(5), 'ERROR');
    assert.deepEqual(calls.at(-1), 'stream 0 left Secure');
    assert.equal(dsm.teePolicy.streamSecure(0), false);
    assert.deepEqual(dsm.state.ideKm.streams, {});
  });
});

test('the DSM installs its T-bit policy in the device model', () => {
  const w = makeWorld(nvme);
  assert.equal(w.device.mmioRead(0, 0, 0, 4, { t: true }).status, 'UR');
  programStream(w, SESSION_A);
  lock(w, SESSION_A, 0);
  assert.equal(w.device.mmioRead(0, 0, 0, 4, { t: false }).status, 'UR');
});
