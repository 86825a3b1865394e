/**
 * The host/device boundary: the host port carries only what host software can do (config
 * cycles, BAR MMIO, bus capture), so DSM operations are neither in its type nor reachable
 * on the object; the internal port carries the DSM's operations.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDevice } from '../../../src/device/pci/device.ts';
import { hostPort, internalPort } from '../../../src/device/pci/ports.ts';
import { nic } from '../../../src/device/profiles/index.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';

/** What only the DSM may do, by the names the device model and the DSM use. */
const DSM_ONLY = [
  'setDoeHandler',
  'setTeePolicy',
  'streamLeftSecure',
  'setStreamState',
  'lockMsix',
  'scrub',
  'securityView',
  'onSecurityEvent',
  'tdis',
];

describe('device ports', () => {
  it('the host port exposes config, MMIO and bus capture, and no DSM operation', () => {
    const host = hostPort(createDevice(nic));
    assert.deepEqual(Object.keys(host).sort(), [
      'busNumber',
      'configRead',
      'configWrite',
      'mmioRead',
      'mmioWrite',
      'setBusNumber',
    ]);
    for (const name of DSM_ONLY) assert.equal(name in host, false, name);
    assert.ok(Object.isFrozen(host), 'nothing can be attached to it later');
    // @ts-expect-error the host port's type has no DSM operations
    assert.equal(host.setTeePolicy, undefined);
    // @ts-expect-error
    assert.equal(host.scrub, undefined);
  });

  it('the host port reaches the same hardware as the device model', () => {
    const dev = createDevice(nic);
    const host = hostPort(dev);
    assert.equal(host.configRead(0, 0, 4), dev.configRead(0, 0, 4));
    host.configWrite(0, 0x04, 2, 0x0002); // Memory Space Enable
    assert.equal(dev.configRead(0, 0x04, 2) & 0x2, 0x2);
    host.setBusNumber(7);
    assert.equal(host.busNumber(), 7);
    assert.equal(dev.requesterId(0), 0x0700);
    assert.equal(host.mmioWrite(0, 0, 0, Uint8Array.of(1, 2), { t: false }).status, 'SC');
    assert.deepEqual(dev.mmioRead(0, 0, 0, 2, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(1, 2),
    });
  });

  it('the internal port carries the DSM operations', () => {
    const inside = internalPort(createDevice(nic));
    for (const name of ['setDoeHandler', 'setTeePolicy', 'streamLeftSecure', 'scrub']) {
      assert.equal(typeof (inside as unknown as Record<string, unknown>)[name], 'function', name);
    }
    assert.equal(inside.hasIde, true);
  });

  it("a TDISP device hands hosts the host port ('host'), not the model", async () => {
    const t = await createTdispDevice({ profile: nic });
    for (const name of DSM_ONLY) assert.equal(name in t.host, false, name);
    assert.equal(t.host.configRead(0, 0, 2), nic.vendorId);
  });
});
