/**
 * Device + DSM state is data (DESIGN.md principle 2): equal states reached by different
 * paths hash equal, different states hash differently, and a structuredClone of the whole
 * state taken mid-lifecycle behaves exactly like the original when both get the same
 * inputs (same responses, same events, same hash after every step).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DsmEvent } from '../../src/device/dsm/events.ts';
import { createDevice, type PciDevice } from '../../src/device/pci/device.ts';
import { internalPort } from '../../src/device/pci/ports.ts';
import { nic } from '../../src/device/profiles/index.ts';
import { PCI_IDE_KM_OBJECT_ID_K_SET_STOP } from '../../src/wire/idekm/constants.ts';
import {
  PCI_TDISP_GET_DEVICE_INTERFACE_STATE,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX,
  PCI_TDISP_STOP_INTERFACE_REQ,
} from '../../src/wire/tdisp/constants.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import {
  fetchReport,
  ideKm,
  interfaceIdOf,
  lock,
  makeWorld,
  programStream,
  SESSION_A,
  start,
  tdispMsg,
  tdispReq,
  type World,
} from './dsm/harness.ts';
import { findCap } from './pci/host.ts';

const worldHash = (w: World) =>
  canonicalHash({ device: w.device.snapshot(), dsm: w.dsm.snapshot() });
const deviceHash = (d: PciDevice) => canonicalHash(d.snapshot());

const TDI = 1; // the NIC's first VF
const PAGE = 0x1000;

describe('device state hash', () => {
  it('a page written and freed, or written back to zero, equals a page never written', () => {
    const fresh = createDevice(nic);
    const zeroed = createDevice(nic);
    const scrubbed = createDevice(nic);
    for (const d of [zeroed, scrubbed]) {
      d.configWrite(0, 0x04, 2, 0x0002);
      d.mmioWrite(0, 2, PAGE + 8, Uint8Array.of(1, 2, 3), { t: false });
      assert.notEqual(deviceHash(d), deviceHash(fresh), 'written memory is different state');
      d.configWrite(0, 0x04, 2, 0x0000);
    }
    zeroed.configWrite(0, 0x04, 2, 0x0002);
    zeroed.mmioWrite(0, 2, PAGE + 8, new Uint8Array(3), { t: false });
    zeroed.configWrite(0, 0x04, 2, 0x0000);
    internalPort(scrubbed).scrub(0);
    assert.equal(deviceHash(zeroed), deviceHash(fresh));
    assert.equal(deviceHash(scrubbed), deviceHash(fresh));
  });

  it('two BARs programmed in either order, or two streams keyed in either order, hash equal', () => {
    const a = createDevice(nic);
    const b = createDevice(nic);
    a.configWrite(0, 0x10, 4, 0xe0000000);
    a.configWrite(0, 0x18, 4, 0xe1000000);
    b.configWrite(0, 0x18, 4, 0xe1000000);
    b.configWrite(0, 0x10, 4, 0xe0000000);
    assert.equal(deviceHash(a), deviceHash(b));

    const x = makeWorld(nic);
    const y = makeWorld(nic);
    programStream(x, SESSION_A, 3);
    programStream(x, SESSION_A, 5);
    programStream(y, SESSION_A, 5);
    programStream(y, SESSION_A, 3);
    assert.equal(worldHash(x), worldHash(y));
  });

  it('different states hash differently', () => {
    const base = makeWorld(nic);
    const h0 = worldHash(base);
    const bus = makeWorld(nic);
    bus.device.setBusNumber(0x3b);
    const mem = makeWorld(nic);
    mem.device.mmioWrite(TDI, 0, 0, Uint8Array.of(1), { t: false });
    const keyed = makeWorld(nic);
    programStream(keyed, SESSION_A, 0);
    const locked = makeWorld(nic);
    programStream(locked, SESSION_A, 0);
    lock(locked, SESSION_A, TDI);
    const hashes = [h0, ...[bus, mem, keyed, locked].map(worldHash)];
    assert.equal(new Set(hashes).size, hashes.length, hashes.join('\n'));
  });
});

describe('a cloned device + DSM state', () => {
  it('after LOCK, continues exactly like the original under the same inputs', () => {
    const original = makeWorld(nic);
    programStream(original, SESSION_A, 0);
    const locked = lock(original, SESSION_A, TDI, {
      flags: PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX,
    });
    assert.equal(locked.code, 0x03, 'LOCK_INTERFACE_RESPONSE');
    const nonce = (locked as { startInterfaceNonce: Uint8Array }).startInterfaceNonce;

    const state = structuredClone({
      device: original.device.snapshot(),
      dsm: original.dsm.snapshot(),
    });
    const copy = makeWorld(nic);
    copy.device.restore(state.device);
    copy.dsm.restore(state.dsm);
    assert.equal(worldHash(copy), worldHash(original));

    const id = interfaceIdOf(original.device, TDI);
    // Inputs that draw no randomness, so both copies' random sources do not matter.
    const steps: Array<[string, (w: World) => unknown]> = [
      ['GET_DEVICE_INTERFACE_REPORT', (w) => fetchReport(w, SESSION_A, TDI)],
      ['START_INTERFACE_REQUEST', (w) => start(w, SESSION_A, TDI, nonce)],
      ['T=1 MMIO write', (w) => w.device.mmioWrite(TDI, 0, 0x40, Uint8Array.of(9, 8), { t: true })],
      ['T=1 MMIO read', (w) => w.device.mmioRead(TDI, 0, 0x40, 2, { t: true })],
      [
        'T=0 write into the locked MSI-X table (UR in RUN)',
        (w) => w.device.mmioWrite(TDI, 0, 0xe000, Uint8Array.of(1), { t: false }),
      ],
      [
        'MSI-X Message Control write (LOCK_MSIX: to ERROR)',
        (w) => w.device.configWrite(TDI, findCap(w.device, TDI, 0x11)! + 2, 2, 0x8000),
      ],
      [
        'GET_DEVICE_INTERFACE_STATE',
        (w) => tdispMsg(w, SESSION_A, tdispReq(PCI_TDISP_GET_DEVICE_INTERFACE_STATE, id)),
      ],
      [
        'STOP_INTERFACE_REQUEST',
        (w) => tdispMsg(w, SESSION_A, tdispReq(PCI_TDISP_STOP_INTERFACE_REQ, id)),
      ],
      [
        'K_SET_STOP',
        (w) =>
          ideKm(w, SESSION_A, {
            objectId: PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
            streamId: 0,
            keySubStream: { keySet: 0, direction: 'RX', subStream: 0 },
            portIndex: 0,
          }),
      ],
    ];
    const events = new Map<World, DsmEvent[]>([
      [original, []],
      [copy, []],
    ]);
    for (const [w, list] of events) w.dsm.onEvent((e) => list.push(e));
    const seen = new Set<string>([worldHash(original)]);
    for (const [name, step] of steps) {
      assert.deepEqual(step(copy), step(original), name);
      assert.equal(worldHash(copy), worldHash(original), name);
      seen.add(worldHash(original));
      console.log(name, seen.size, JSON.stringify(step.length));
    }
    assert.deepEqual(events.get(copy), events.get(original));
    // The run went somewhere: RUN, guest data, ERROR, scrubbed, stream stopped.
    assert.equal(original.dsm.tdiState(TDI), 'CONFIG_UNLOCKED');
    assert.ok(seen.size >= 6, `${seen.size} distinct states`);
    assert.ok(
      events.get(original)!.some((e) => e.kind === 'TDI_STATE' && e.to === 'ERROR'),
      'the Message Control write moved the TDI to ERROR in both',
    );
  });
});
