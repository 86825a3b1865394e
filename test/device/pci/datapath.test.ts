/** BAR memory and the T-bit data paths: MMIO, the DMA engine, the DSM's policy hooks, scrub. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDevice, type UpstreamPort } from '../../../src/device/pci/device.ts';
import { gpu, nic, nvme } from '../../../src/device/profiles/index.ts';
import { findExtCap, recorder } from './host.ts';

function enabled(profile = nvme) {
  const dev = createDevice(profile);
  dev.configWrite(0, 0x10, 4, 0xfe000000);
  dev.configWrite(0, 0x14, 4, 0);
  dev.configWrite(0, 0x04, 2, 0x0006);
  return dev;
}

describe('MMIO', () => {
  it('default policy (no DSM): T=0 completes, T=1 is Unsupported Request', () => {
    const dev = enabled();
    assert.deepEqual(dev.mmioWrite(0, 0, 0x10, Uint8Array.of(1, 2), { t: false }), {
      status: 'SC',
    });
    assert.deepEqual(dev.mmioRead(0, 0, 0x10, 2, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(1, 2),
    });
    assert.deepEqual(dev.mmioRead(0, 0, 0x10, 2, { t: true }), {
      status: 'UR',
      reason: 'tee-policy',
    });
    assert.deepEqual(dev.mmioWrite(0, 0, 0x10, Uint8Array.of(9), { t: true }), {
      status: 'UR',
      reason: 'tee-policy',
    });
    assert.deepEqual(dev.mmioRead(0, 0, 0x10, 2, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(1, 2),
    });
  });

  it('refuses with Memory Space disabled, outside the BAR, on an absent BAR or function', () => {
    const dev = enabled();
    assert.deepEqual(dev.mmioRead(0, 0, 0x4000 - 4, 8, { t: false }), {
      status: 'UR',
      reason: 'outside-bar',
    });
    assert.deepEqual(dev.mmioRead(0, 2, 0, 4, { t: false }), {
      status: 'UR',
      reason: 'no-such-bar',
    });
    assert.deepEqual(dev.mmioRead(7, 0, 0, 4, { t: false }), {
      status: 'UR',
      reason: 'no-such-function',
    });
    dev.configWrite(0, 0x04, 2, 0x0004);
    assert.deepEqual(dev.mmioRead(0, 0, 0, 4, { t: false }), {
      status: 'UR',
      reason: 'memory-space-disabled',
    });
    assert.throws(() => dev.mmioRead(0, 0, -1, 4, { t: false }), RangeError);
    assert.throws(() => dev.mmioRead(0, 0, 0, 0, { t: false }), RangeError);
  });

  it('asks the installed policy with (fn, bar, offset, t, write) and obeys it; undefined restores the default', () => {
    const dev = enabled();
    const asked: unknown[] = [];
    dev.setTeePolicy({
      mmio: (fn, bar, offset, t, write) => {
        asked.push([fn, bar, offset, t, write]);
        return t ? 'ok' : 'UR';
      },
      dmaT: () => true,
    });
    assert.equal(dev.mmioWrite(0, 0, 0x20, Uint8Array.of(5), { t: true }).status, 'SC');
    assert.deepEqual(dev.mmioRead(0, 0, 0x20, 1, { t: false }), {
      status: 'UR',
      reason: 'tee-policy',
    });
    assert.deepEqual(asked, [
      [0, 0, 0x20, true, true],
      [0, 0, 0x20, false, false],
    ]);
    dev.setTeePolicy(undefined);
    assert.equal(dev.mmioRead(0, 0, 0x20, 1, { t: false }).status, 'SC');
  });

  it('decodes bus addresses to function, BAR and offset', () => {
    const dev = enabled();
    assert.deepEqual(dev.decodeMmio(0xfe000123n), { fn: 0, bar: 0, offset: 0x123 });
    assert.equal(dev.decodeMmio(0xfe004000n), undefined);
    dev.configWrite(0, 0x04, 2, 0);
    assert.equal(dev.decodeMmio(0xfe000123n), undefined, 'memory decoding off');
  });
});

describe('DMA engine', () => {
  function port() {
    const writes: unknown[] = [];
    const up: UpstreamPort = {
      memWrite: (r) => {
        writes.push(r);
        return 'SC';
      },
      memRead: (r) =>
        r.address === 0x1000n
          ? { status: 'SC', data: new Uint8Array(r.length).fill(7) }
          : { status: 'UR' },
    };
    return { up, writes };
  }

  it('needs Bus Master Enable and an upstream port; T comes from the policy (default 0)', () => {
    const dev = createDevice(nvme, { bus: 2 });
    const { up, writes } = port();
    assert.deepEqual(dev.dmaWrite(0, 0x1000n, Uint8Array.of(1)), {
      issued: false,
      reason: 'bus-master-disabled',
    });
    dev.configWrite(0, 0x04, 2, 0x0004);
    assert.deepEqual(dev.dmaWrite(0, 0x1000n, Uint8Array.of(1)), {
      issued: false,
      reason: 'no-upstream',
    });
    dev.attachUpstream(up);
    assert.deepEqual(dev.dmaWrite(0, 0x1000n, Uint8Array.of(1)), {
      issued: true,
      t: false,
      status: 'SC',
    });
    assert.deepEqual(writes, [
      { requesterId: 0x0200, address: 0x1000n, data: Uint8Array.of(1), t: false },
    ]);
    dev.setTeePolicy({ mmio: () => 'ok', dmaT: (fn) => fn === 0 });
    assert.deepEqual(dev.dmaRead(0, 0x1000n, 2), {
      issued: true,
      t: true,
      status: 'SC',
      data: Uint8Array.of(7, 7),
    });
    assert.deepEqual(dev.dmaRead(0, 0x2000n, 2), { issued: true, t: true, status: 'UR' });
  });
});

describe('scrub and sparse memory', () => {
  it('scrub zeroes every BAR of the function and re-masks the MSI-X table', () => {
    const dev = enabled();
    dev.mmioWrite(0, 0, 0x100, new Uint8Array(64).fill(0x5a), { t: false });
    dev.mmioWrite(0, 0, 0x2000, new Uint8Array(16), { t: false }); // vector 0 unmasked
    dev.scrub(0);
    assert.deepEqual(dev.mmioRead(0, 0, 0x100, 64, { t: false }), {
      status: 'SC',
      data: new Uint8Array(64),
    });
    const entry = dev.mmioRead(0, 0, 0x2000, 16, { t: false });
    assert.equal(entry.status === 'SC' && entry.data[12], 1, 'Vector Control Mask Bit set again');
    assert.throws(() => dev.scrub(9), RangeError);
  });

  it('the GPU 16 GiB BAR is backed sparsely: its far end works and only touched pages exist', () => {
    const dev = createDevice(gpu);
    dev.configWrite(0, 0x18, 4, 0xffffffff);
    dev.configWrite(0, 0x1c, 4, 0xffffffff);
    assert.equal(dev.configRead(0, 0x18, 4), 0x0000000c);
    assert.equal(dev.configRead(0, 0x1c, 4), 0xfffffffc, '16 GiB');
    dev.configWrite(0, 0x18, 4, 0);
    dev.configWrite(0, 0x1c, 4, 0x4);
    dev.configWrite(0, 0x04, 2, 0x0002);
    const end = (16n << 30n) - 4n;
    assert.equal(dev.mmioWrite(0, 2, end, Uint8Array.of(1, 2, 3, 4), { t: false }).status, 'SC');
    assert.equal(
      dev.mmioWrite(0, 2, 0x7fff_fffe, Uint8Array.of(5, 6, 7, 8), { t: false }).status,
      'SC',
    );
    assert.deepEqual(dev.mmioRead(0, 2, end, 4, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(1, 2, 3, 4),
    });
    assert.deepEqual(dev.mmioRead(0, 2, 0x7fff_fffe, 4, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(5, 6, 7, 8),
    });
    assert.equal(dev.mmioRead(0, 2, 16n << 30n, 1, { t: false }).status, 'UR');
    assert.equal(dev.snapshot().functions.get(0)!.memory[2].size, 3, 'three 4 KiB pages');
    assert.equal(dev.securityView(0).bars.find((b) => b.index === 2)?.address, 0x4_0000_0000n);
  });
});

describe('snapshots', () => {
  it('restore returns config, memory and mailbox to the snapshot', () => {
    const dev = enabled(nic);
    const snap = dev.snapshot();
    dev.mmioWrite(0, 0, 0x40, Uint8Array.of(1), { t: false });
    dev.configWrite(0, 0x04, 2, 0);
    const s = findExtCap(dev, 0, 0x10)!;
    dev.configWrite(0, s + 0x10, 2, 4);
    dev.configWrite(0, s + 0x08, 2, 1);
    assert.equal(dev.functions().length, 5);
    dev.restore(snap);
    assert.deepEqual(dev.functions(), [0]);
    assert.equal(dev.configRead(0, 0x04, 2), 0x0006);
    assert.deepEqual(dev.mmioRead(0, 0, 0x40, 1, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(0),
    });
    const r = recorder(dev);
    dev.configWrite(0, 0x04, 2, 0x0004);
    assert.equal(r.all.length, 1, 'events still flow after restore');
  });
});
