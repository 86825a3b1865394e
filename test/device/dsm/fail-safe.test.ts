/**
 * A config-space security event the DSM cannot evaluate (its transition throws) must not
 * leave a TDI in RUN: the TDI goes to ERROR (fail safe) next to the INTERNAL_ERROR event.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '../../../src/crypto/random.ts';
import { Dsm } from '../../../src/device/dsm/dsm.ts';
import type { DsmEvent } from '../../../src/device/dsm/events.ts';
import { pciDeviceHardware } from '../../../src/device/dsm/pci-hardware.ts';
import { createDevice } from '../../../src/device/pci/device.ts';
import { internalPort } from '../../../src/device/pci/ports.ts';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../../src/device/pci/regs.ts';
import { nic } from '../../../src/device/profiles/nic.ts';
import { enumerate, lock, programStream, SESSION_A, start, type World } from './harness.ts';

describe('DSM ERROR triggers fail safe', () => {
  test('a throwing transition sends the RUN TDI to ERROR and says INTERNAL_ERROR', () => {
    const device = createDevice(nic, { bus: 0x3a });
    const bars = enumerate(device);
    const hw = pciDeviceHardware(internalPort(device));
    let broken = false;
    const faulty = new Proxy(hw, {
      get(t, p, r) {
        if (p === 'tdiFunctions' && broken) {
          return () => {
            throw new Error('hardware fault');
          };
        }
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const dsm = new Dsm(faulty, { random: seededRandom('fail-safe') });
    const events: DsmEvent[] = [];
    dsm.onEvent((e) => events.push(e));
    const w: World = { device, dsm, bars };
    programStream(w, SESSION_A, 0);
    const l = lock(w, SESSION_A, 1) as { startInterfaceNonce: Uint8Array };
    assert.equal(start(w, SESSION_A, 1, l.startInterfaceNonce).code, 0x06);
    assert.equal(dsm.state.tdis[1].state, 'RUN');

    broken = true;
    // A security event the DSM now fails to evaluate (the PF's Memory Space Enable).
    const cmd = device.configRead(0, PCI_COMMAND, 2);
    device.configWrite(0, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
    assert.ok(events.some((e) => e.kind === 'INTERNAL_ERROR' && e.protocol === 'CONFIG'));
    assert.equal(dsm.state.tdis[1].state, 'ERROR');
    assert.ok(
      events.some(
        (e) => e.kind === 'TDI_STATE' && e.fn === 1 && e.from === 'RUN' && e.to === 'ERROR',
      ),
    );
  });
});
