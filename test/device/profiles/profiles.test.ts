import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createDevice } from '../../../src/device/pci/device.ts';
import {
  builtinProfiles,
  loadProfile,
  ProfileError,
  parseProfile,
  resolveProfile,
} from '../../../src/device/profiles/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'teeio-profiles-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const YAML = `
name: my-accel
vendorId: 0x10ee
deviceId: 0x9038
classCode: 0x120000
dsm:
  doe: { maxObjectDwords: 1024 }
  ide: { selectiveStreams: 2, addressBlocks: 1 }
functions:
  - fn: 0
    bars:
      - { index: 0, size: 64KiB, is64: true }
      - { index: 2, size: "0x40000000", is64: true, prefetchable: true }
    msix: { vectors: 4, table: { bar: 0, offset: 0x8000 }, pba: { bar: 0, offset: 0x9000 } }
    ats: true
    pasid: { width: 16 }
    nonTee: [ { bar: 0, offset: 0xf000, size: 4K } ]
    deviceSpecificInfo: "cafe01"
`;

function problemsOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProfileError, String(e));
    return e.message;
  }
  assert.fail('expected a ProfileError');
}

describe('built-in profiles', () => {
  it('nic, gpu and nvme pass the schema unchanged and build', () => {
    for (const [name, p] of Object.entries(builtinProfiles)) {
      assert.deepEqual(parseProfile(p, name), p);
      assert.equal(resolveProfile(name), p);
      createDevice(p);
    }
  });

  it('nic: PF0 with DSM, DOE and IDE; 4 VFs each a TDI with a 64 KiB BAR0 holding MSI-X', () => {
    const p = builtinProfiles.nic;
    const pf = p.functions[0];
    assert.equal(pf.tdi, false);
    assert.ok(p.dsm?.ide);
    assert.equal(pf.sriov?.totalVfs, 4);
    assert.deepEqual(pf.sriov?.vf.bars, [{ index: 0, size: 65536n, is64: true }]);
    assert.equal(pf.sriov?.vf.msix?.table.bar, 0);
  });

  it('gpu: one function with a 16 GiB 64-bit prefetchable BAR; nvme: 16 KiB BAR0 with MSI-X in BAR0', () => {
    const g = builtinProfiles.gpu.functions;
    assert.equal(g.length, 1);
    assert.ok(g[0].bars.some((b) => b.size === 16n << 30n && b.is64 && b.prefetchable));
    const n = builtinProfiles.nvme.functions[0];
    assert.deepEqual(n.bars[0].size, 16384n);
    assert.equal(n.msix?.table.bar, 0);
  });
});

describe('user profiles', () => {
  it('loads YAML with hex ids, unit sizes and feature flags', () => {
    const p = loadProfile(file('accel.yaml', YAML));
    assert.equal(p.vendorId, 0x10ee);
    assert.deepEqual(
      p.functions[0].bars.map((b) => b.size),
      [65536n, 1n << 30n],
    );
    assert.deepEqual(p.functions[0].ats, {});
    assert.deepEqual(p.functions[0].nonTee, [{ bar: 0, offset: 0xf000n, size: 4096n }]);
    const dev = createDevice(p);
    const v = dev.securityView(0);
    assert.deepEqual(v.deviceSpecificInfo, Uint8Array.of(0xca, 0xfe, 0x01));
    assert.deepEqual(v.nonTeeRanges, [{ bar: 0, offset: 0xf000n, size: 4096n }]);
    assert.equal(resolveProfile(join(dir, 'accel.yaml')).name, 'my-accel');
  });

  it('loads JSON, with ids and sizes as strings', () => {
    const json = {
      name: 'j',
      vendorId: '0x1af4',
      deviceId: 4096,
      classCode: '0x010802',
      functions: [{ fn: 0, bars: [{ index: 0, size: '16KiB', is64: true }] }],
    };
    const p = loadProfile(file('j.json', JSON.stringify(json)));
    assert.equal(p.vendorId, 0x1af4);
    assert.equal(p.functions[0].bars[0].size, 16384n);
  });
});

describe('validation errors name the bad field', () => {
  const base = () => ({
    name: 'x',
    vendorId: 1,
    deviceId: 2,
    classCode: 3,
    functions: [{ fn: 0, bars: [{ index: 0, size: 4096 }] }] as Array<Record<string, unknown>>,
  });

  it('type and range problems', () => {
    const a = base();
    a.functions[0].bars = [{ index: 0, size: '12KB' }];
    assert.match(
      problemsOf(() => parseProfile(a, 'a.yaml')),
      /a\.yaml: invalid device profile\n {2}functions\.0\.bars\.0\.size: not a size: 12KB/,
    );
    const b = { ...base(), vendorId: 0xffff };
    assert.match(
      problemsOf(() => parseProfile(b)),
      /vendorId: /,
    );
    const c = base();
    c.functions[0].msix = { vectors: 0, table: { bar: 0, offset: 0 }, pba: { bar: 0, offset: 64 } };
    assert.match(
      problemsOf(() => parseProfile(c)),
      /functions\.0\.msix\.vectors: expected an integer in 1\.\./,
    );
  });

  it('unknown keys (typos) are errors', () => {
    const a = base();
    a.functions[0].atss = true;
    assert.match(
      problemsOf(() => parseProfile(a)),
      /functions\.0: .*atss/,
    );
  });

  it('cross-field problems: power of two, BAR slots, MSI-X placement, VF routing ids, function 0', () => {
    const a = base();
    a.functions[0].bars = [{ index: 0, size: 5000 }];
    assert.match(
      problemsOf(() => parseProfile(a)),
      /functions\.0\.bars\.0\.size: must be a power of two/,
    );
    const b = base();
    b.functions[0].bars = [
      { index: 0, size: 4096, is64: true },
      { index: 1, size: 4096 },
    ];
    assert.match(
      problemsOf(() => parseProfile(b)),
      /functions\.0\.bars\.1\.index: BAR slot 1 already used/,
    );
    const c = base();
    c.functions[0].msix = {
      vectors: 512,
      table: { bar: 0, offset: 0 },
      pba: { bar: 0, offset: 0xff8 },
    };
    assert.match(
      problemsOf(() => parseProfile(c)),
      /functions\.0\.msix\.table\.offset: table does not fit/,
    );
    const d = base();
    d.functions.push({ fn: 1, bars: [] });
    d.functions[0].sriov = {
      totalVfs: 2,
      firstVfOffset: 1,
      vfStride: 1,
      vfDeviceId: 9,
      vf: { bars: [] },
    };
    assert.match(
      problemsOf(() => parseProfile(d)),
      /functions\.0\.sriov\.firstVfOffset: function 1 already used/,
    );
    const e = base();
    e.functions[0].fn = 3;
    assert.match(
      problemsOf(() => parseProfile(e)),
      /functions: function 0 is required/,
    );
  });

  it('YAML syntax errors and the TypeScript path (createDevice) report too', () => {
    assert.match(
      problemsOf(() => loadProfile(file('bad.yaml', 'name: [unclosed'))),
      /bad\.yaml: invalid device profile/,
    );
    const p = {
      ...builtinProfiles.nvme,
      functions: [{ ...builtinProfiles.nvme.functions[0], bars: [] }],
    };
    assert.throws(() => createDevice(p), /functions\.0\.msix\.table\.bar: no memory BAR 0/);
  });
});
