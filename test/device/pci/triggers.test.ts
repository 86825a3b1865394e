/**
 * Every TDISP ERROR trigger of SYSTEM.md section 2, driven by config writes the way a host
 * would make them, emits exactly its event; harmless writes emit nothing.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createDevice, type PciDevice } from '../../../src/device/pci/device.ts';
import { gpu, nvme } from '../../../src/device/profiles/index.ts';
import { type DsmStandIn, dsmStandIn } from './dsm-stand-in.ts';
import { full } from './fixtures.ts';
import { ev, findCap, findExtCap, recorder } from './host.ts';

let dev: PciDevice;
let dsm: DsmStandIn;
let rec: ReturnType<typeof recorder>;
const cap = (id: number) => findCap(dev, 0, id)!;
const ext = (id: number) => findExtCap(dev, 0, id)!;

function enableVfs(d: PciDevice, n = 2): void {
  const s = findExtCap(d, 0, 0x10)!;
  d.configWrite(0, s + 0x10, 2, n); // NumVFs
  d.configWrite(0, s + 0x08, 2, 0x9); // VF Enable | VF MSE
}

beforeEach(() => {
  dev = createDevice(full);
  dsm = dsmStandIn(dev);
  rec = recorder(dev);
});

describe('Command register', () => {
  it('setting MSE/BME, writing Status, INTx Disable, cache line size: no event', () => {
    dev.configWrite(0, 0x04, 2, 0x0006);
    dev.configWrite(0, 0x04, 2, 0x0406);
    dev.configWrite(0, 0x06, 2, 0xffff);
    dev.configWrite(0, 0x04, 4, 0xffff0406);
    dev.configWrite(0, 0x0c, 1, 0x10);
    dev.configWrite(0, 0x3c, 1, 0x0b);
    assert.deepEqual(rec.take(), []);
  });

  it('clearing Memory Space Enable / Bus Master Enable', () => {
    dev.configWrite(0, 0x04, 2, 0x0006);
    dev.configWrite(0, 0x04, 2, 0x0004);
    assert.deepEqual(rec.take(), [ev(0, { kind: 'MSE_CLEAR' })]);
    dev.configWrite(0, 0x04, 2, 0x0000);
    assert.deepEqual(rec.take(), [ev(0, { kind: 'BME_CLEAR' })]);
    dev.configWrite(0, 0x04, 2, 0x0006);
    dev.configWrite(0, 0x04, 1, 0x00);
    assert.deepEqual(rec.take(), [ev(0, { kind: 'MSE_CLEAR' }), ev(0, { kind: 'BME_CLEAR' })]);
    dev.configWrite(0, 0x04, 2, 0x0000);
    assert.deepEqual(rec.take(), [], 'already clear');
  });
});

describe('BARs, Expansion ROM, BIST', () => {
  it('any write to an implemented BAR register, naming the logical BAR', () => {
    dev.configWrite(0, 0x10, 4, 0xfe000000);
    dev.configWrite(0, 0x14, 4, 0);
    dev.configWrite(0, 0x1c, 4, 0x10);
    dev.configWrite(0, 0x18, 2, 0);
    assert.deepEqual(rec.take(), [
      ev(0, { kind: 'BAR_WRITE', bar: 0 }),
      ev(0, { kind: 'BAR_WRITE', bar: 0 }),
      ev(0, { kind: 'BAR_WRITE', bar: 2 }),
      ev(0, { kind: 'BAR_WRITE', bar: 2 }),
    ]);
    dev.configWrite(0, 0x20, 4, 0xffffffff); // BAR4: not implemented
    assert.deepEqual(rec.take(), []);
  });

  it('Expansion ROM writes (only when the function has a ROM)', () => {
    dev.configWrite(0, 0x30, 4, 0xffffffff);
    assert.deepEqual(rec.take(), [ev(0, { kind: 'EXPANSION_ROM_WRITE' })]);
    const n = createDevice(nvme);
    const r = recorder(n);
    n.configWrite(0, 0x30, 4, 0xffffffff);
    assert.deepEqual(r.take(), []);
  });

  it('BIST writes; Start completes at once', () => {
    dev.configWrite(0, 0x0f, 1, 0x40);
    assert.equal(dev.configRead(0, 0x0f, 1), 0x80);
    dev.configWrite(0, 0x0c, 4, 0x00000010); // a dword write covering BIST
    assert.deepEqual(rec.take(), [ev(0, { kind: 'BIST_WRITE' }), ev(0, { kind: 'BIST_WRITE' })]);
    dev.configWrite(0, 0x0c, 2, 0x0010);
    assert.deepEqual(rec.take(), []);
  });
});

describe('Function Level Reset', () => {
  it('Initiate FLR: event, config back to defaults, memory zeroed; other Device Control writes are harmless', () => {
    const pcie = cap(0x10);
    dev.configWrite(0, pcie + 8, 2, 0x2830);
    assert.deepEqual(rec.take(), []);
    dev.configWrite(0, 0x10, 4, 0xfe000000);
    dev.configWrite(0, 0x04, 2, 0x0006);
    dev.mmioWrite(0, 0, 0x100, Uint8Array.of(1, 2, 3, 4), { t: false });
    rec.take();
    dev.configWrite(0, pcie + 8, 2, 0x8000 | 0x2830);
    assert.deepEqual(rec.take(), [ev(0, { kind: 'FLR', fromPf: false })]);
    assert.equal(dev.configRead(0, 0x04, 2), 0);
    assert.equal(dev.configRead(0, 0x10, 4), 0x4);
    assert.equal(dev.configRead(0, pcie + 8, 2) & 0x8000, 0, 'Initiate FLR reads 0');
    dev.configWrite(0, 0x04, 2, 0x0002);
    assert.deepEqual(dev.mmioRead(0, 0, 0x100, 4, { t: false }), {
      status: 'SC',
      data: new Uint8Array(4),
    });
  });

  it('a PF FLR reaches every VF (fromPf) and the VFs disappear', () => {
    enableVfs(dev);
    assert.deepEqual(dev.functions(), [0, 1, 2]);
    rec.take();
    dev.configWrite(0, cap(0x10) + 8, 2, 0x8000);
    assert.deepEqual(rec.take(), [
      ev(0, { kind: 'FLR', fromPf: false }),
      ev(1, { kind: 'FLR', fromPf: true }),
      ev(2, { kind: 'FLR', fromPf: true }),
    ]);
    assert.deepEqual(dev.functions(), [0]);
  });

  it('a VF FLR resets only that VF', () => {
    enableVfs(dev);
    dev.configWrite(1, 0x04, 2, 0x0004);
    dev.mmioWrite(1, 0, 0, Uint8Array.of(9), { t: false });
    dev.mmioWrite(2, 0, 0, Uint8Array.of(8), { t: false });
    rec.take();
    const vfPcie = findCap(dev, 1, 0x10)!;
    dev.configWrite(1, vfPcie + 8, 2, 0x8000);
    assert.deepEqual(rec.take(), [ev(1, { kind: 'FLR', fromPf: false })]);
    assert.equal(dev.configRead(1, 0x04, 2), 0);
    assert.deepEqual(dev.mmioRead(1, 0, 0, 1, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(0),
    });
    assert.deepEqual(dev.mmioRead(2, 0, 0, 1, { t: false }), {
      status: 'SC',
      data: Uint8Array.of(8),
    });
  });

  it('no FLR on a function without FLR capability', () => {
    const d = createDevice({ ...nvme, functions: [{ ...nvme.functions[0], flr: false }] });
    const r = recorder(d);
    d.configWrite(0, 0x04, 2, 0x0002);
    d.configWrite(0, findCap(d, 0, 0x10)! + 8, 2, 0x8000);
    assert.deepEqual(r.take(), []);
    assert.equal(d.configRead(0, 0x04, 2), 0x0002);
  });
});

describe('Requester ID', () => {
  it('a bus number change renumbers every function', () => {
    enableVfs(dev);
    rec.take();
    dev.setBusNumber(3);
    assert.deepEqual(
      rec.take(),
      [0, 1, 2].map((fn) => ev(fn, { kind: 'REQUESTER_ID_CHANGE' })),
    );
    assert.equal(dev.securityView(2).requesterId, 0x0302);
    dev.setBusNumber(3);
    assert.deepEqual(rec.take(), []);
  });
});

describe('IDE stream state', () => {
  it('Secure -> Insecure by the DSM, by link down, by the host clearing the stream Enable', () => {
    dsm.setStreamState(5, 'Secure');
    dsm.setStreamState(6, 'Insecure');
    assert.deepEqual(rec.take(), []);
    dsm.setStreamState(5, 'Insecure');
    assert.deepEqual(rec.take(), [ev(0, { kind: 'IDE_STREAM_INSECURE', streamId: 5 })]);

    dsm.setStreamState(5, 'Secure');
    dsm.setStreamState(7, 'Secure');
    dev.linkDown();
    assert.deepEqual(rec.take(), [
      ev(0, { kind: 'IDE_STREAM_INSECURE', streamId: 5 }),
      ev(0, { kind: 'IDE_STREAM_INSECURE', streamId: 7 }),
    ]);
    dev.linkUp();
    assert.equal(dev.streamState(5), 'Insecure', 'keys are gone after link down');
  });

  it('reaches every function (PF and VFs)', () => {
    enableVfs(dev);
    dsm.setStreamState(1, 'Secure');
    rec.take();
    dsm.setStreamState(1, 'Insecure');
    assert.deepEqual(
      rec.take(),
      [0, 1, 2].map((fn) => ev(fn, { kind: 'IDE_STREAM_INSECURE', streamId: 1 })),
    );
  });
});

describe('capability enable changes', () => {
  const cases: Array<[string, number, number, number, string]> = [
    // capability, ext cap id, register offset, register size, event capability
    ['ATS Enable', 0x0f, 0x06, 2, 'ATS'],
    ['PASID Enable', 0x1b, 0x06, 2, 'PASID'],
    ['PRI Enable', 0x13, 0x04, 2, 'PRI'],
    ['ARI Control', 0x0e, 0x06, 2, 'ARI'],
    ['TPH Requester Enable', 0x17, 0x08, 4, 'TPH'],
    ['LNR Enable', 0x1c, 0x06, 2, 'LNR'],
  ];
  const value: Record<string, number> = {
    ATS: 0x8000,
    PASID: 1,
    PRI: 1,
    ARI: 1,
    TPH: 0x100,
    LNR: 1,
  };
  for (const [name, id, reg, size, capability] of cases) {
    it(`${name}: on change only`, () => {
      const at = ext(id) + reg;
      dev.configWrite(0, at, size, 0);
      assert.deepEqual(rec.take(), [], 'same value');
      dev.configWrite(0, at, size, value[capability]);
      assert.notEqual(dev.configRead(0, at, size), 0);
      dev.configWrite(0, at, size, value[capability]);
      dev.configWrite(0, at, size, 0);
      const e = ev(0, { kind: 'CAPABILITY_CHANGE', capability } as never);
      assert.deepEqual(rec.take(), [e, e]);
    });
  }

  it('SR-IOV: NumVFs, VF Enable (also hitting the VFs that go), VF MSE (MSE_CLEAR on each VF), VF BARs', () => {
    const s = ext(0x10);
    const sriov = ev(0, { kind: 'CAPABILITY_CHANGE', capability: 'SRIOV' });
    dev.configWrite(0, s + 0x10, 2, 2);
    assert.deepEqual(rec.take(), [sriov]);
    dev.configWrite(0, s + 0x08, 2, 0x9);
    assert.deepEqual(rec.take(), [sriov]);
    dev.configWrite(0, s + 0x24, 4, 0xe0000000);
    assert.deepEqual(rec.take(), [
      sriov,
      ev(1, { kind: 'BAR_WRITE', bar: 0 }),
      ev(2, { kind: 'BAR_WRITE', bar: 0 }),
    ]);
    dev.configWrite(0, s + 0x08, 2, 0x1);
    assert.deepEqual(rec.take(), [
      sriov,
      ev(1, { kind: 'MSE_CLEAR' }),
      ev(2, { kind: 'MSE_CLEAR' }),
    ]);
    dev.configWrite(0, s + 0x08, 2, 0x0);
    assert.deepEqual(rec.take(), [
      sriov,
      ev(1, { kind: 'CAPABILITY_CHANGE', capability: 'SRIOV' }),
      ev(2, { kind: 'CAPABILITY_CHANGE', capability: 'SRIOV' }),
    ]);
    assert.deepEqual(dev.functions(), [0]);
  });

  it('Resizable BAR: a supported size resizes the BAR; an unsupported one is ignored', () => {
    const r = ext(0x15);
    assert.equal(dev.configRead(0, r + 4, 4), 0x70, '1, 2, 4 MiB');
    dev.configWrite(0, r + 8, 4, 0x0000_0502); // 32 MiB: unsupported
    assert.deepEqual(rec.take(), []);
    dev.configWrite(0, r + 8, 4, 0x0000_0202); // 4 MiB
    assert.deepEqual(rec.take(), [
      ev(0, { kind: 'CAPABILITY_CHANGE', capability: 'RESIZABLE_BAR' }),
    ]);
    dev.configWrite(0, 0x18, 4, 0xffffffff);
    assert.equal(dev.configRead(0, 0x18, 4), 0xffc0000c, 'BAR2 now sizes as 4 MiB');
    assert.equal(dev.securityView(0).bars.find((b) => b.index === 2)?.size, 4n * 1024n * 1024n);
  });
});

describe('power management', () => {
  const pmcsr = () => cap(0x01) + 4;

  it('D0 -> D3hot without No_Soft_Reset loses state: event on entry, reset on the way back', () => {
    enableVfs(dev);
    dev.configWrite(0, 0x04, 2, 0x0006);
    rec.take();
    dev.configWrite(0, pmcsr(), 2, 0x0003);
    assert.deepEqual(
      rec.take(),
      [0, 1, 2].map((fn) => ev(fn, { kind: 'POWER_STATE_LOSS', to: 'D3hot' })),
    );
    assert.equal(dev.mmioRead(0, 0, 0, 4, { t: false }).status, 'UR', 'no MMIO in D3hot');
    dev.configWrite(0, pmcsr(), 2, 0x0000);
    assert.deepEqual(rec.take(), []);
    assert.equal(dev.configRead(0, 0x04, 2), 0, 'Command back to its default');
    assert.deepEqual(dev.functions(), [0], 'VF Enable reset');
  });

  it('with No_Soft_Reset the state stays and nothing is emitted; D1/D2 and PME Enable are harmless', () => {
    const d = createDevice({ ...nvme, functions: [{ ...nvme.functions[0], noSoftReset: true }] });
    const r = recorder(d);
    const pm = findCap(d, 0, 0x01)! + 4;
    d.configWrite(0, 0x04, 2, 0x0006);
    d.configWrite(0, pm, 2, 0x0003);
    d.configWrite(0, pm, 2, 0x0000);
    assert.equal(d.configRead(0, 0x04, 2), 0x0006);
    d.configWrite(0, pm, 2, 0x0001);
    assert.equal(d.configRead(0, pm, 2) & 3, 0, 'D1 unsupported: stays D0');
    d.configWrite(0, pm, 2, 0x0100);
    assert.deepEqual(r.take(), []);
  });

  it('D3cold (power cycle): every function, the link drops its keys', () => {
    dsm.setStreamState(2, 'Secure');
    rec.take();
    dev.powerCycle();
    assert.deepEqual(rec.take(), [
      ev(0, { kind: 'POWER_STATE_LOSS', to: 'D3cold' }),
      ev(0, { kind: 'IDE_STREAM_INSECURE', streamId: 2 }),
    ]);
  });
});

describe('MSI-X lock', () => {
  it('Message Control change, table and PBA writes while locked; nothing while unlocked', () => {
    const m = cap(0x11) + 2;
    dev.configWrite(0, 0x04, 2, 0x0002);
    dev.configWrite(0, m, 2, 0x8000);
    dev.mmioWrite(0, 0, 0x8000, new Uint8Array(16), { t: false });
    assert.deepEqual(rec.take(), []);
    dsm.lockMsix(0, true);
    dev.configWrite(0, m, 2, 0x8000);
    dev.mmioWrite(0, 0, 0x7000, new Uint8Array(16), { t: false });
    assert.deepEqual(rec.take(), [], 'same value, outside the table');
    dev.configWrite(0, m, 2, 0xc000);
    dev.mmioWrite(0, 0, 0x8010, Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd), { t: false });
    dev.mmioWrite(0, 0, 0x9000, Uint8Array.of(0xff), { t: false });
    const locked = ev(0, { kind: 'MSIX_LOCKED_CHANGE' });
    assert.deepEqual(rec.take(), [locked, locked, locked]);
    const t = dev.mmioRead(0, 0, 0x8010, 4, { t: false });
    assert.deepEqual(
      t,
      { status: 'SC', data: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd) },
      'the write completed',
    );
    assert.deepEqual(
      dev.mmioRead(0, 0, 0x9000, 1, { t: false }),
      { status: 'SC', data: Uint8Array.of(0) },
      'PBA is read-only',
    );
    dsm.lockMsix(0, false);
    dev.configWrite(0, m, 2, 0x8000);
    assert.deepEqual(rec.take(), []);
  });
});

describe('profiles without the optional capabilities', () => {
  it('GPU: ROM write, PRI and Resizable BAR present', () => {
    const d = createDevice(gpu);
    const r = recorder(d);
    d.configWrite(0, 0x30, 4, 0);
    d.configWrite(0, findExtCap(d, 0, 0x13)! + 4, 2, 1);
    assert.deepEqual(r.take(), [
      ev(0, { kind: 'EXPANSION_ROM_WRITE' }),
      ev(0, { kind: 'CAPABILITY_CHANGE', capability: 'PRI' }),
    ]);
  });
});
