/**
 * STOP scrubs (PCIe 6.x 11.3.16; SYSTEM.md invariant 7) and the T-bit policy the DSM
 * installs in the device model (11.2; invariant 4), exercised through the model's real
 * MMIO and DMA paths.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UpstreamPort } from '../../../src/device/pci/device.ts';
import type { DeviceProfile } from '../../../src/device/pci/profile.ts';
import { PCI_COMMAND, PCI_COMMAND_MASTER } from '../../../src/device/pci/regs.ts';
import { gpu } from '../../../src/device/profiles/gpu.ts';
import { nvme } from '../../../src/device/profiles/nvme.ts';
import { decodeInterfaceReport } from '../../../src/wire/tdisp/report.ts';
import {
  fetchReport,
  interfaceIdOf,
  lock,
  makeWorld,
  programStream,
  SESSION_A,
  start,
  tdispMsg,
  tdispReq,
  type World,
} from './harness.ts';

/** NVMe with its doorbell page (BAR0 0x1000-0x1fff) shared: reported non-TEE. */
const nvmeShared: DeviceProfile = {
  ...nvme,
  functions: [{ ...nvme.functions[0], nonTee: [{ bar: 0, offset: 0x1000n, size: 0x1000n }] }],
};

const SECRET = Uint8Array.from({ length: 64 }, (_, i) => 0xa0 ^ i);

function toRun(w: World, fn: number, flags = 0x5): void {
  programStream(w, SESSION_A);
  const l = lock(w, SESSION_A, fn, { flags }) as { code: number; startInterfaceNonce: Uint8Array };
  assert.equal(l.code, 0x03);
  const s = start(w, SESSION_A, fn, l.startInterfaceNonce);
  assert.equal(s.code, 0x06);
}

const stop = (w: World, fn: number) =>
  assert.equal(tdispMsg(w, SESSION_A, tdispReq(0x87, interfaceIdOf(w.device, fn))).code, 0x07);

describe('STOP scrubs device memory', () => {
  test('guest data written with T=1 in RUN is zero after STOP', () => {
    const w = makeWorld(nvme);
    toRun(w, 0);
    assert.deepEqual(w.device.mmioWrite(0, 0, 0x40, SECRET, { t: true }), { status: 'SC' });
    const back = w.device.mmioRead(0, 0, 0x40, SECRET.length, { t: true });
    assert.deepEqual(back, { status: 'SC', data: SECRET });
    stop(w, 0);
    assert.equal(w.dsm.tdiState(0), 'CONFIG_UNLOCKED');
    assert.deepEqual(w.device.mmioRead(0, 0, 0x40, SECRET.length, { t: false }), {
      status: 'SC',
      data: new Uint8Array(SECRET.length),
    });
  });

  test('in ERROR the data is unreachable with T=0 until STOP scrubs it', () => {
    const w = makeWorld(gpu);
    toRun(w, 0);
    const far = 8n << 30n; // 8 GiB into the 16 GiB VRAM BAR
    assert.equal(w.device.mmioWrite(0, 2, far, SECRET, { t: true }).status, 'SC');
    w.device.configWrite(
      0,
      PCI_COMMAND,
      2,
      w.device.configRead(0, PCI_COMMAND, 2) & ~PCI_COMMAND_MASTER,
    );
    assert.equal(w.dsm.tdiState(0), 'ERROR');
    assert.equal(w.device.mmioRead(0, 2, far, 64, { t: false }).status, 'UR');
    assert.equal(w.device.mmioRead(0, 2, far, 64, { t: true }).status, 'UR');
    stop(w, 0);
    assert.deepEqual(w.device.mmioRead(0, 2, far, 64, { t: false }), {
      status: 'SC',
      data: new Uint8Array(64),
    });
  });

  test('STOP forgets the nonce and drops P2P bindings', () => {
    const w = makeWorld(nvme);
    programStream(w, SESSION_A, 1);
    toRun(w, 0, 0x0d);
    assert.equal(
      tdispMsg(w, SESSION_A, tdispReq(0x88, interfaceIdOf(w.device, 0), { p2pStreamId: 1 })).code,
      0x08,
    );
    const run = w.dsm.state.tdis[0];
    assert.ok(run.state === 'RUN' && run.p2pStreams.includes(1));
    stop(w, 0);
    assert.deepEqual(w.dsm.state.tdis[0], { state: 'CONFIG_UNLOCKED', fn: 0 });
  });
});

describe('T-bit policy', () => {
  const TEE = 0x0; // BAR0 page 0: registers (TEE memory)
  const SHARED = 0x1000; // non-TEE doorbells
  const MSIX = 0x2000; // MSI-X table

  function access(w: World, off: number, t: boolean): string {
    return w.device.mmioRead(0, 0, off, 4, { t }).status;
  }

  const rows: Array<
    [state: string, tee: [string, string], shared: [string, string], msix: [string, string]]
  > = [
    // [T=0, T=1] per range kind
    ['CONFIG_UNLOCKED', ['SC', 'UR'], ['SC', 'UR'], ['SC', 'UR']],
    ['CONFIG_LOCKED', ['UR', 'UR'], ['SC', 'UR'], ['SC', 'UR']],
    ['RUN', ['UR', 'SC'], ['SC', 'SC'], ['UR', 'SC']],
    ['ERROR', ['UR', 'UR'], ['SC', 'UR'], ['UR', 'UR']],
  ];
  for (const [state, tee, shared, msix] of rows) {
    test(`${state}: TEE ${tee}, non-TEE ${shared}, locked MSI-X ${msix}`, () => {
      const w = makeWorld(nvmeShared);
      programStream(w, SESSION_A);
      if (state !== 'CONFIG_UNLOCKED') {
        const l = lock(w, SESSION_A, 0, { flags: 0x4 }) as { startInterfaceNonce: Uint8Array };
        if (state === 'RUN') {
          start(w, SESSION_A, 0, l.startInterfaceNonce);
        }
        if (state === 'ERROR') w.device.setBusNumber(0x44);
      }
      assert.equal(w.dsm.tdiState(0), state);
      assert.deepEqual([access(w, TEE, false), access(w, TEE, true)], tee);
      assert.deepEqual([access(w, SHARED, false), access(w, SHARED, true)], shared);
      assert.deepEqual([access(w, MSIX, false), access(w, MSIX, true)], msix);
    });
  }

  test('an MSI-X table LOCK did not lock is not TEE memory', () => {
    const w = makeWorld(nvmeShared);
    toRun(w, 0, 0x1);
    assert.equal(access(w, MSIX, false), 'SC');
  });

  test('SET_MMIO_ATTRIBUTE IS_NON_TEE_MEM opens a TEE range to T=0, and back', () => {
    const w = makeWorld(nvmeShared);
    toRun(w, 0);
    const range = decodeInterfaceReport(fetchReport(w, SESSION_A, 0)).mmioRanges.find(
      (r) => r.attributes.updatable,
    )!;
    const set = (nonTee: boolean) =>
      tdispMsg(
        w,
        SESSION_A,
        tdispReq(0x8a, interfaceIdOf(w.device, 0), {
          mmioRange: {
            ...range,
            attributes: { msixTable: false, msixPba: false, nonTee, updatable: false },
          },
        }),
      ).code;
    assert.equal(access(w, TEE, false), 'UR');
    assert.equal(set(true), 0x0a);
    assert.equal(access(w, TEE, false), 'SC');
    assert.equal(set(false), 0x0a);
    assert.equal(access(w, TEE, false), 'UR');
  });

  test('the DMA engine issues T=1 only in RUN', () => {
    const w = makeWorld(nvme);
    const seen: boolean[] = [];
    const port: UpstreamPort = {
      memWrite: (r) => {
        seen.push(r.t);
        return 'SC';
      },
      memRead: (r) => {
        seen.push(r.t);
        return { status: 'SC', data: new Uint8Array(r.length) };
      },
    };
    w.device.attachUpstream(port);
    const dma = () => w.device.dmaWrite(0, 0x1000n, Uint8Array.of(1));
    dma();
    programStream(w, SESSION_A);
    const l = lock(w, SESSION_A, 0) as { startInterfaceNonce: Uint8Array };
    dma();
    start(w, SESSION_A, 0, l.startInterfaceNonce);
    dma();
    stop(w, 0);
    dma();
    assert.deepEqual(seen, [false, false, true, false]);
  });
});
