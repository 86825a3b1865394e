import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { walkCapabilities, walkExtCapabilities } from '../../../src/device/pci/config-space.ts';
import { createDevice } from '../../../src/device/pci/device.ts';
import type { DeviceProfile } from '../../../src/device/pci/profile.ts';
import { gpu, nic, nvme } from '../../../src/device/profiles/index.ts';
import { findCap, findExtCap } from './host.ts';

const barsProfile: DeviceProfile = {
  name: 'bars',
  vendorId: 0x1234,
  deviceId: 0x5678,
  revisionId: 3,
  classCode: 0x028000,
  subsystemVendorId: 0xabcd,
  subsystemId: 0x0042,
  functions: [
    {
      fn: 0,
      bars: [
        { index: 0, size: 4096n },
        { index: 1, size: 32n, io: true },
        { index: 2, size: 8n << 30n, is64: true, prefetchable: true },
        { index: 4, size: 64n << 10n, is64: true },
      ],
      rom: { size: 64n << 10n },
      bist: true,
    },
    { fn: 1, bars: [{ index: 0, size: 1n << 20n, prefetchable: true }] },
  ],
};

/** Linux __pci_read_base for one 32-bit register: save, write ~0, read, restore. */
function size32(dev: ReturnType<typeof createDevice>, fn: number, off: number): number {
  const saved = dev.configRead(fn, off, 4);
  dev.configWrite(fn, off, 4, 0xffffffff);
  const v = dev.configRead(fn, off, 4);
  dev.configWrite(fn, off, 4, saved);
  return v;
}

describe('type 0 header', () => {
  it('presents ids, class code, header type and subsystem ids', () => {
    const dev = createDevice(barsProfile);
    assert.equal(dev.configRead(0, 0x00, 4), 0x56781234);
    assert.equal(dev.configRead(0, 0x08, 4), 0x02800003);
    assert.equal(dev.configRead(0, 0x0e, 1), 0x80, 'two functions: multi-function bit');
    assert.equal(dev.configRead(0, 0x2c, 4), 0x0042abcd);
    assert.equal(dev.configRead(0, 0x0f, 1), 0x80, 'BIST capable');
    assert.equal(createDevice(nvme).configRead(0, 0x0e, 1), 0x00);
  });

  it('keeps read-only registers and masks Command to its implemented bits', () => {
    const dev = createDevice(barsProfile);
    dev.configWrite(0, 0x00, 4, 0xffffffff);
    assert.equal(dev.configRead(0, 0x00, 4), 0x56781234);
    dev.configWrite(0, 0x04, 2, 0xffff);
    assert.equal(dev.configRead(0, 0x04, 2), 0x0546);
    dev.configWrite(0, 0x06, 2, 0xffff);
    assert.equal(dev.configRead(0, 0x06, 2), 0x0010, 'only Capabilities List; RW1C bits were 0');
    dev.configWrite(0, 0x34, 1, 0x00);
    assert.equal(dev.configRead(0, 0x34, 1), 0x40);
  });

  it('reads all-ones from a function that does not exist and rejects malformed accesses', () => {
    const dev = createDevice(nvme);
    assert.equal(dev.configRead(5, 0, 4), 0xffffffff);
    assert.equal(dev.configRead(5, 0, 2), 0xffff);
    dev.configWrite(5, 4, 2, 6); // ignored
    assert.throws(() => dev.configRead(0, 2, 4), RangeError);
    assert.throws(() => dev.configRead(0, 0x1000, 1), RangeError);
    assert.throws(() => dev.configRead(0, 0, 3), RangeError);
    assert.throws(() => dev.configWrite(0, 0, 1, 0x100), RangeError);
  });
});

describe('BAR sizing', () => {
  it('32-bit memory BAR reads back its size mask, type bits read-only', () => {
    const dev = createDevice(barsProfile);
    assert.equal(dev.configRead(0, 0x10, 4), 0x00000000);
    assert.equal(size32(dev, 0, 0x10), 0xfffff000);
    assert.equal(size32(dev, 1, 0x10), 0xfff00008, '1 MiB prefetchable');
  });

  it('I/O BAR sets bit 0 and sizes in its low bits', () => {
    const dev = createDevice(barsProfile);
    assert.equal(size32(dev, 0, 0x14), 0xffffffe1);
  });

  it('64-bit BAR pairs: low dword carries type 64 (and prefetch), high dword the upper mask', () => {
    const dev = createDevice(barsProfile);
    assert.equal(size32(dev, 0, 0x18), 0x0000000c, '8 GiB: no low address bits');
    assert.equal(size32(dev, 0, 0x1c), 0xfffffffe);
    assert.equal(size32(dev, 0, 0x20), 0xffff0004);
    assert.equal(size32(dev, 0, 0x24), 0xffffffff);
    // The size Linux computes from the pair.
    const mask = (BigInt(0xfffffffe) << 32n) | BigInt(0x0000000c & ~0xf);
    assert.equal((~mask & 0xffff_ffff_ffff_ffffn) + 1n, 8n << 30n);
  });

  it('programmed addresses keep only bits above the size and show in the security view', () => {
    const dev = createDevice(barsProfile);
    dev.configWrite(0, 0x10, 4, 0xfe000fff);
    dev.configWrite(0, 0x18, 4, 0x00000000);
    dev.configWrite(0, 0x1c, 4, 0x00000040);
    dev.configWrite(0, 0x20, 4, 0xfd01ffff);
    dev.configWrite(0, 0x24, 4, 0x00000001);
    assert.equal(dev.configRead(0, 0x10, 4), 0xfe000000);
    const v = dev.securityView(0);
    assert.deepEqual(
      v.bars.map((b) => [b.index, b.address, b.size, b.is64, b.prefetchable, b.memory]),
      [
        [0, 0xfe000000n, 4096n, false, false, true],
        [1, 0n, 32n, false, false, false],
        [2, 0x40_0000_0000n, 8n << 30n, true, true, true],
        [4, 0x1_fd01_0000n, 64n << 10n, true, false, true],
      ],
    );
  });

  it('unimplemented BARs and a VF header BAR read zero after writing ones', () => {
    const dev = createDevice(barsProfile);
    for (const off of [0x14, 0x18, 0x1c, 0x20, 0x24]) assert.equal(size32(dev, 1, off), 0);
    const n = createDevice(nic);
    n.configWrite(0, findExtCap(n, 0, 0x10)! + 0x10, 2, 1);
    n.configWrite(0, findExtCap(n, 0, 0x10)! + 0x08, 2, 1);
    assert.equal(size32(n, 1, 0x10), 0);
  });

  it('Expansion ROM BAR sizes above 2 KiB and keeps its enable bit', () => {
    const dev = createDevice(barsProfile);
    assert.equal(size32(dev, 0, 0x30), 0xffff0001);
    dev.configWrite(0, 0x30, 4, 0xfff80000);
    assert.equal(dev.configRead(0, 0x30, 4), 0xfff80000);
    assert.equal(size32(dev, 1, 0x30), 0, 'function 1 has no ROM');
  });
});

describe('capability lists', () => {
  it('walks PM, PCI Express and MSI-X in the standard list of every profile', () => {
    for (const p of [nic, gpu, nvme]) {
      const dev = createDevice(p);
      const caps = walkCapabilities((o, s) => dev.configRead(0, o, s));
      assert.deepEqual(
        caps.map((c) => c.id),
        [0x01, 0x10, 0x11],
        p.name,
      );
      assert.equal(caps[0].offset, 0x40);
      for (const c of caps) assert.equal(findCap(dev, 0, c.id), c.offset);
    }
  });

  it('walks the extended list from 0x100 and finds each capability where the host finds it', () => {
    const expected: Record<string, number[]> = {
      nic: [0x2e, 0x30, 0x10, 0x0f, 0x1b, 0x0e],
      gpu: [0x2e, 0x30, 0x0f, 0x13, 0x1b, 0x15],
      nvme: [0x2e, 0x30],
    };
    for (const p of [nic, gpu, nvme]) {
      const dev = createDevice(p);
      const ext = walkExtCapabilities((o, s) => dev.configRead(0, o, s));
      assert.deepEqual(
        ext.map((c) => c.id),
        expected[p.name],
        p.name,
      );
      assert.equal(ext[0].offset, 0x100);
      for (const c of ext) assert.equal(findExtCap(dev, 0, c.id), c.offset);
      // Each capability starts after the previous one and inside 4 KiB.
      for (let i = 1; i < ext.length; i++) assert.ok(ext[i].offset > ext[i - 1].offset);
      assert.ok(ext[ext.length - 1].offset < 0x1000);
    }
  });

  it('PCI Express Device Capabilities carry FLR (bit 28) and TEE-IO Supported (bit 30)', () => {
    const dev = createDevice(nvme);
    const pcie = findCap(dev, 0, 0x10)!;
    const devcap = dev.configRead(0, pcie + 4, 4);
    assert.ok(devcap & (1 << 28));
    assert.ok(devcap & (1 << 30));
    assert.equal(dev.configRead(0, pcie + 2, 2) & 0xf, 2, 'capability version 2');
    const plain = createDevice({
      ...nvme,
      teeIo: false,
      functions: [{ ...nvme.functions[0], flr: false }],
    });
    const d2 = plain.configRead(0, findCap(plain, 0, 0x10)! + 4, 4);
    assert.equal(d2 & ((1 << 28) | (1 << 30)), 0);
  });

  it('MSI-X capability names table and PBA BIR/offset and the table size', () => {
    const dev = createDevice(nvme);
    const m = findCap(dev, 0, 0x11)!;
    assert.equal(dev.configRead(0, m + 2, 2), 31);
    assert.equal(dev.configRead(0, m + 4, 4), 0x2000);
    assert.equal(dev.configRead(0, m + 8, 4), 0x3000);
    dev.configWrite(0, m + 2, 2, 0xffff);
    assert.equal(
      dev.configRead(0, m + 2, 2),
      0xc000 | 31,
      'Enable and Function Mask writable, size RO',
    );
  });
});

describe('robustness', () => {
  it('random config writes never throw and leave the capability structure intact', () => {
    const base = createDevice(nic);
    const std = walkCapabilities((o, s) => base.configRead(0, o, s));
    const ext = walkExtCapabilities((o, s) => base.configRead(0, o, s));
    const access = fc
      .tuple(
        fc.constantFrom(1, 2, 4),
        fc.integer({ min: 0, max: 0x3ff }),
        fc.nat({ max: 0xffffffff }),
      )
      .map(([size, dw, v]) => ({
        size,
        off: dw * 4 + (size === 4 ? 0 : size === 2 ? 2 : 3),
        value: v % 2 ** (8 * size),
      }));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 5 }), access), { maxLength: 60 }), (writes) => {
        const dev = createDevice(nic);
        const kinds = new Set<string>();
        dev.onSecurityEvent((r) => kinds.add(r.event.kind));
        for (const [fn, w] of writes) dev.configWrite(fn, w.off, w.size, w.value);
        for (const [fn, w] of writes) dev.configRead(fn, w.off, w.size);
        assert.deepEqual(
          walkCapabilities((o, s) => dev.configRead(0, o, s)),
          std,
        );
        assert.deepEqual(
          walkExtCapabilities((o, s) => dev.configRead(0, o, s)),
          ext,
        );
        assert.equal(dev.configRead(0, 0, 4), base.configRead(0, 0, 4));
        for (const k of kinds) assert.match(k, /^[A-Z_]+$/);
      }),
      { numRuns: 300 },
    );
  });
});
