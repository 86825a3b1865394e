/** SR-IOV: VFs appearing as functions with their own config space, routing ids and BARs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDevice } from '../../../src/device/pci/device.ts';
import { nic } from '../../../src/device/profiles/index.ts';
import { findCap, findExtCap } from './host.ts';

function setup() {
  const dev = createDevice(nic, { bus: 0x3a });
  const s = findExtCap(dev, 0, 0x10)!;
  return { dev, s };
}

describe('SR-IOV capability', () => {
  it('advertises TotalVFs, InitialVFs, First VF Offset, Stride, VF Device ID, page sizes', () => {
    const { dev, s } = setup();
    assert.equal(dev.configRead(0, s + 0x0c, 2), 4);
    assert.equal(dev.configRead(0, s + 0x0e, 2), 4);
    assert.equal(dev.configRead(0, s + 0x14, 2), 1);
    assert.equal(dev.configRead(0, s + 0x16, 2), 1);
    assert.equal(dev.configRead(0, s + 0x1a, 2), 0x7e02);
    assert.equal(dev.configRead(0, s + 0x1c, 4), 0x553);
    assert.equal(dev.configRead(0, s + 0x20, 4), 1, 'System Page Size 4 KiB');
    assert.deepEqual(dev.functions(), [0], 'no VFs before VF Enable');
  });

  it('VF BARs size like BARs', () => {
    const { dev, s } = setup();
    dev.configWrite(0, s + 0x24, 4, 0xffffffff);
    dev.configWrite(0, s + 0x28, 4, 0xffffffff);
    assert.equal(dev.configRead(0, s + 0x24, 4), 0xffff0004);
    assert.equal(dev.configRead(0, s + 0x28, 4), 0xffffffff);
  });

  it('VF Enable brings NumVFs VFs at PF + offset + n * stride, each a TDI with its own config space', () => {
    const { dev, s } = setup();
    dev.configWrite(0, s + 0x10, 2, 4);
    dev.configWrite(0, s + 0x08, 2, 0x1);
    assert.deepEqual(dev.functions(), [0, 1, 2, 3, 4]);
    assert.deepEqual(dev.tdis(), [1, 2, 3, 4], 'PF0 hosts the DSM and is not assigned');
    for (const fn of [1, 2, 3, 4]) {
      assert.equal(dev.configRead(fn, 0x00, 4), 0xffffffff, 'VF Vendor/Device ID read FFFFh');
      assert.equal(dev.requesterId(fn), 0x3a00 | fn);
      const pcie = findCap(dev, fn, 0x10)!;
      assert.ok(dev.configRead(fn, pcie + 4, 4) & (1 << 28), 'VF FLR capable');
      assert.ok(findCap(dev, fn, 0x11), 'VF MSI-X');
      assert.ok(findExtCap(dev, fn, 0x0f), 'VF ATS');
    }
    dev.configWrite(1, 0x04, 2, 0x0006);
    assert.equal(dev.configRead(1, 0x04, 2), 0x0004, 'VF Memory Space Enable is RO zero');
    assert.equal(dev.configRead(2, 0x04, 2), 0x0000, 'each VF has its own Command');
  });

  it('NumVFs is read-only while VF Enable is set and ignores values above TotalVFs', () => {
    const { dev, s } = setup();
    dev.configWrite(0, s + 0x10, 2, 9);
    assert.equal(dev.configRead(0, s + 0x10, 2), 0);
    dev.configWrite(0, s + 0x10, 2, 2);
    dev.configWrite(0, s + 0x08, 2, 0x1);
    dev.configWrite(0, s + 0x10, 2, 3);
    assert.equal(dev.configRead(0, s + 0x10, 2), 2);
    assert.deepEqual(dev.functions(), [0, 1, 2]);
  });

  it('VF n memory sits at VF BAR + (n-1) * size, enabled by VF MSE', () => {
    const { dev, s } = setup();
    dev.configWrite(0, s + 0x24, 4, 0x80000000);
    dev.configWrite(0, s + 0x28, 4, 0x1);
    dev.configWrite(0, s + 0x10, 2, 4);
    dev.configWrite(0, s + 0x08, 2, 0x1);
    const v3 = dev.securityView(3);
    assert.equal(v3.bars[0].address, 0x1_8002_0000n);
    assert.equal(v3.bars[0].size, 64n * 1024n);
    assert.equal(v3.memorySpaceEnabled, false);
    assert.deepEqual(dev.mmioRead(3, 0, 0, 4, { t: false }), {
      status: 'UR',
      reason: 'memory-space-disabled',
    });
    dev.configWrite(0, s + 0x08, 2, 0x9);
    assert.equal(dev.securityView(3).memorySpaceEnabled, true);
    dev.mmioWrite(3, 0, 8, Uint8Array.of(3), { t: false });
    dev.mmioWrite(4, 0, 8, Uint8Array.of(4), { t: false });
    assert.deepEqual(dev.mmioRead(3, 0, 8, 1, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(3),
    });
    assert.deepEqual(dev.decodeMmio(0x1_8003_0008n), { fn: 4, bar: 0, offset: 8 });
  });

  it('the VF security view: MSI-X in BAR0, requester id, bus master from the VF', () => {
    const { dev, s } = setup();
    dev.configWrite(0, s + 0x10, 2, 1);
    dev.configWrite(0, s + 0x08, 2, 0x1);
    dev.configWrite(1, 0x04, 2, 0x0004);
    const v = dev.securityView(1);
    assert.equal(v.requesterId, 0x3a01);
    assert.equal(v.busMasterEnabled, true);
    assert.deepEqual(v.msix, {
      tableBar: 0,
      tableOffset: 0xe000,
      tableSize: 8,
      pbaBar: 0,
      pbaOffset: 0xf000,
      messageControl: 7,
    });
    assert.equal(v.atsEnabled, false);
    assert.deepEqual(v.nonTeeRanges, []);
  });
});
