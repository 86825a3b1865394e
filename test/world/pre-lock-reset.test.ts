/**
 * Switch preLockReset (SYSTEM.md section 6 question 3, host/switches.ts), per flavour in both
 * positions: under 'flr' the TSM bind resets the function (pci_reset_function) before the
 * firmware's lock, under 'none' not; what the device memory holds at LOCK (a T=0 write made
 * before the lock, by the host or by a guest's pre-setup through the shared BAR, which the
 * device cannot tell apart); invariant I14 breaking when the running guest reads such bytes
 * with T=1 and holding under 'flr'; the device's observer record of T=0 writes, carried by a
 * snapshot and cleared by a T=1 write.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UapiEvent } from '../../src/host/outcome.ts';
import { DEFAULT_HOST_SWITCHES } from '../../src/host/switches.ts';
import { checkInvariants, type StepEvent } from '../../src/world/invariants.ts';
import { World } from '../../src/world/world.ts';

type Flavour = 'tdx' | 'sev' | 'cca';
type Position = 'none' | 'flr';
const FLAVOURS: readonly Flavour[] = ['tdx', 'sev', 'cca'];
const TDI = 1;
/** A value the host (or a guest's pre-setup) leaves in BAR0 before the lock. */
const PRESET = 0x5e7_0b0b;

/** The first firmware call of each flavour's bind that reaches the device's lock. */
const LOCK_CALL: Record<Flavour, string> = {
  tdx: 'TDH.DEVIF.REQUEST',
  sev: 'TIO_TDI_BIND',
  cca: 'RMI_VDEV_LOCK',
};

const isUapi = (e: StepEvent): e is StepEvent & UapiEvent => e.kind === 'uapi';

async function must(w: World, step: { do: string; args?: Record<string, number> }) {
  const r = await w.perform(step);
  assert.equal(r.ok, true, `${step.do}: ${r.errno} ${r.detail}`);
  return r;
}

/** Connected, VM created, TDI assigned, and `PRESET` written to BAR0 +0 with T=0. */
async function preset(flavour: Flavour, preLockReset: Position, bindUapi: 'vfio' | 'vdevice') {
  const w = await World.create({
    flavour,
    seed: `pre-lock-reset ${flavour} ${preLockReset} ${bindUapi}`,
    switches: { preLockReset, bindUapi },
  });
  for (const s of ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign']) await must(w, { do: s });
  const fd = [...w.h.vfio.devices.values()].find((d) => (d.rid & 0xff) === TDI)?.fd;
  assert.ok(fd !== undefined);
  await must(w, { do: 'host.vfio/bar-write', args: { fd, bar: 0, offset: 0, value: PRESET } });
  return w;
}

const bar0 = (w: World) => w.pw.dev.device.mmioRead(TDI, 0, 0, 4, { t: false });
/** BAR0 +0 as the device holds it, whatever the T-bit policy lets through. */
function stored(w: World): number {
  const page = w.pw.dev.device.snapshot().functions.get(TDI)!.memory[0].get(0);
  return page ? new DataView(page.buffer, page.byteOffset).getUint32(0, true) : 0;
}
const preset0 = (w: World) => w.pw.dev.device.untrustedWritten(TDI, 0, 0, 4);

/** Lock, attest, accept, driver bound: the guest runs its TDI. */
async function run(w: World) {
  const lock = await must(w, { do: 'guest.tsm/lock' });
  for (const s of ['guest.attest', 'guest.tsm/accept', 'guest.driver/bind']) {
    await must(w, { do: s });
  }
  assert.equal(w.tdiState({ do: '' }), 'RUN');
  return lock;
}

/** The guest's T=1 read of BAR0 +0: what it saw and the invariants it broke. */
async function guestRead(w: World) {
  const r = await must(w, { do: 'guest.mmio-read', args: { bar: 0, offset: 0 } });
  const data = r.value as Uint8Array;
  const value = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
  return { value, broken: checkInvariants(w.view(), r.events).map((x) => x.invariant) };
}

describe('preLockReset', () => {
  it("defaults to 'none' (the RFC: the bind locks the function as it finds it)", () => {
    assert.equal(DEFAULT_HOST_SWITCHES.preLockReset, 'none');
  });

  for (const flavour of FLAVOURS) {
    for (const bindUapi of ['vdevice', 'vfio'] as const) {
      describe(`${flavour}, bind through ${bindUapi}`, () => {
        it("flr: pci_reset_function before the firmware's lock, the preset bytes gone at LOCK", async () => {
          const w = await preset(flavour, 'flr', bindUapi);
          assert.equal(preset0(w), true);
          const lock = await must(w, { do: 'guest.tsm/lock' });
          const reset = lock.events.findIndex((e) => isUapi(e) && e.op === 'pci_reset_function');
          const firmware = lock.events.findIndex(
            (e) => e.kind === 'abi' && e.call === LOCK_CALL[flavour],
          );
          assert.ok(reset >= 0, 'the bind resets the function');
          assert.ok(firmware > reset, `${LOCK_CALL[flavour]} after the reset`);
          // The FLR of an unlocked TDI is no ERROR trigger: the lock goes on.
          assert.equal(w.tdiState({ do: '' }), 'CONFIG_LOCKED');
          const bind = bindUapi === 'vfio' ? 'VFIO_DEVICE_TSM_BIND' : 'IOMMU_VDEVICE_TSM_OP';
          const ops = lock.events.filter(isUapi).map((e) => e.op);
          assert.ok(ops.indexOf('pci_reset_function') < ops.lastIndexOf(bind));
          // Device memory as the reset left it; the BARs still where enumeration put them.
          assert.equal(preset0(w), false);
          const b = bar0(w);
          assert.equal(b.status, 'UR', 'a locked TDI refuses a T=0 read of its TEE memory');
          assert.equal(stored(w), 0);
          assert.ok(w.m.barAddress(w.rid(TDI), 0));
        });

        it('none: no reset at the bind, the preset bytes carried into CONFIG_LOCKED', async () => {
          const w = await preset(flavour, 'none', bindUapi);
          const lock = await must(w, { do: 'guest.tsm/lock' });
          assert.ok(!lock.events.some((e) => isUapi(e) && e.op === 'pci_reset_function'));
          assert.equal(w.tdiState({ do: '' }), 'CONFIG_LOCKED');
          assert.equal(preset0(w), true);
          assert.equal(stored(w), PRESET);
        });

        it('none: the running guest reads the preset with T=1 and I14 breaks', async () => {
          const w = await preset(flavour, 'none', bindUapi);
          await run(w);
          const r = await guestRead(w);
          assert.equal(r.value, PRESET);
          assert.deepEqual(r.broken, ['I14']);
        });

        it('flr: the running guest reads the reset value and I14 holds', async () => {
          const w = await preset(flavour, 'flr', bindUapi);
          await run(w);
          const r = await guestRead(w);
          assert.equal(r.value, 0, 'a pre-setup before the lock is lost');
          assert.deepEqual(r.broken, []);
        });
      });
    }

    describe(`${flavour}: the observer's record of T=0 writes`, () => {
      it('a T=1 write by the running guest clears the mark of its page', async () => {
        const w = await preset(flavour, 'none', 'vdevice');
        await run(w);
        await must(w, { do: 'guest.mmio-write', args: { bar: 0, offset: 0x10, value: 1 } });
        assert.equal(preset0(w), false);
        const r = await guestRead(w);
        assert.equal(r.value, PRESET, "page-grained: the page is the guest's own now");
        assert.deepEqual(r.broken, []);
      });

      it('a snapshot carries the record, and restore brings it back', async () => {
        const w = await preset(flavour, 'none', 'vdevice');
        await run(w);
        const snap = w.snapshot();
        await must(w, { do: 'guest.mmio-write', args: { bar: 0, offset: 0, value: 2 } });
        assert.equal(preset0(w), false);
        w.restore(snap);
        assert.equal(preset0(w), true);
        const r = await guestRead(w);
        assert.equal(r.value, PRESET);
        assert.deepEqual(r.broken, ['I14']);
      });

      it('a T=0 write that leaves the page all zero leaves nothing to count', async () => {
        const w = await preset(flavour, 'none', 'vdevice');
        const fd = [...w.h.vfio.devices.values()].find((d) => (d.rid & 0xff) === TDI)!.fd;
        await must(w, { do: 'host.vfio/bar-write', args: { fd, bar: 0, offset: 0, value: 0 } });
        assert.equal(preset0(w), false, 'the page holds what a reset leaves');
        await run(w);
        assert.deepEqual((await guestRead(w)).broken, []);
      });

      it('an FLR, and the STOP scrub, clear the record', async () => {
        const w = await preset(flavour, 'none', 'vdevice');
        await must(w, { do: 'host.pci/flr' });
        assert.equal(preset0(w), false);
        const fd = [...w.h.vfio.devices.values()].find((d) => (d.rid & 0xff) === TDI)!.fd;
        await must(w, { do: 'host.vfio/bar-write', args: { fd, bar: 0, offset: 0, value: 3 } });
        assert.equal(preset0(w), true);
        w.pw.dev.device.scrub(TDI);
        assert.equal(preset0(w), false);
      });
    });
  }
});
