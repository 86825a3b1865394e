/**
 * The guest's lifecycle and rules on one flavour (each flavour's test file runs it): lock
 * -> attest -> accept -> use (private MMIO, DMA into private memory) -> unlock; each errno
 * of tsm/lock, tsm/accept and tsm/unlock; evidence refused with the verifier's reason when
 * forged, replayed or mismatched with the guest's BARs.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { AttestationPolicy } from '../../src/guest/attest/index.ts';
import {
  attestAndAccept,
  type CollectedEvidence,
  collectEvidence,
  verifyCollected,
} from '../../src/guest/attester.ts';
import {
  dmaBuffer,
  driverBind,
  driverUnbind,
  NIC_DMA_ADDR,
  nicDmaStart,
  nicDmaStop,
  nicRead,
  nicWrite,
} from '../../src/guest/driver/nic.ts';
import type { GuestOutcome } from '../../src/guest/outcome.ts';
import { tsmAccept, tsmLock, tsmUnlock } from '../../src/guest/tsm/core.ts';
import type { FlavourName } from '../../src/platform/flavours.ts';
import type { MeasurementBlock } from '../../src/wire/spdm/measurements.ts';
import { type GuestWorld, guestWorld, IMAGE_GPA, referencePolicy, VDEV_ID } from './guest-world.ts';

export function done<T>(o: GuestOutcome<T>): T {
  if (!o.ok)
    assert.fail(
      `${o.events.at(-1)?.kind === 'guest' ? (o.events.at(-1) as { op: string }).op : '?'}: ${o.errno} ${o.detail}`,
    );
  return o.value;
}

export function refusedWith<T>(o: GuestOutcome<T>, errno: string): string {
  assert.equal(o.ok, false, `expected ${errno}, got success`);
  if (o.ok) throw new Error('unreachable');
  assert.equal(o.errno, errno, o.detail);
  return o.detail;
}

/** The checks a refused attestation names. */
export function checks<T>(o: GuestOutcome<T>): string[] {
  refusedWith(o, 'EACCES');
  return o.ok ? [] : (o.reasons ?? []).map((r) => r.check);
}

/** The policy from a known-good run of the same seed. */
export async function policyOf(flavour: FlavourName, seed: string): Promise<AttestationPolicy> {
  const w = await guestWorld(flavour, seed);
  done(await tsmLock(w.gm, w.g, VDEV_ID));
  const c = done(await collectEvidence(w.gm, w.g, VDEV_ID));
  assert.deepEqual(c.problems, []);
  return referencePolicy(w, c);
}

/** Locked, attested and accepted: RUN. */
export async function toRun(w: GuestWorld, policy: AttestationPolicy): Promise<void> {
  done(await tsmLock(w.gm, w.g, VDEV_ID));
  done(await attestAndAccept(w.gm, w.g, VDEV_ID, policy));
  assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
}

export function guestSuite(flavour: FlavourName): void {
  const seed = `guest ${flavour}`;
  let policy: AttestationPolicy;
  before(async () => {
    policy = await policyOf(flavour, seed);
  });

  describe(`${flavour} guest: lock -> attest -> accept -> use -> unlock`, () => {
    it('takes the TDI to RUN, uses private MMIO and DMA into private memory, and lets it go', async () => {
      const w = await guestWorld(flavour, seed);
      const { gm, g } = w;
      done(await tsmLock(gm, g, VDEV_ID));
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
      assert.equal(g.devices.get(VDEV_ID)?.tsm, 'locked');
      done(await attestAndAccept(gm, g, VDEV_ID, policy));
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
      assert.equal(g.devices.get(VDEV_ID)?.tsm, 'run');
      assert.equal(structuredClone(g).devices.get(VDEV_ID)?.tsm, 'run', 'guest state clones');

      done(driverBind(g, VDEV_ID));
      // T=1 MMIO: the write reaches the device's register, the read brings it back.
      const secret = new Uint8Array([0xca, 0xfe, 0xf0, 0x0d]);
      assert.deepEqual(done(nicWrite(gm, g, VDEV_ID, 0, 0x40, secret)), { kind: 'ok' });
      const seen = w.dev.device.mmioRead(w.tdi.fn, 0, 0x40, 4, { t: true });
      assert.deepEqual(seen.status === 'SC' && [...seen.data], [...secret]);
      const back = done(nicRead(gm, g, VDEV_ID, 0, 0x40));
      assert.deepEqual(back.kind === 'ok' && [...(back.data ?? [])], [...secret]);

      // DMA: the driver programs its private buffer; the device writes there with T=1.
      done(nicDmaStart(gm, g, VDEV_ID, IMAGE_GPA));
      const desc = w.dev.device.mmioRead(w.tdi.fn, 0, NIC_DMA_ADDR, 8, { t: true });
      assert.equal(desc.status, 'SC');
      const addr = desc.status === 'SC' ? new DataView(desc.data.buffer).getBigUint64(0, true) : 0n;
      assert.equal(addr, IMAGE_GPA);
      const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
      const dma = w.dev.device.dmaWrite(w.tdi.fn, addr, payload);
      assert.deepEqual(dma.issued && [dma.t, dma.status], [true, 'SC']);
      assert.deepEqual(dmaBuffer(gm, IMAGE_GPA, 8), payload);
      done(nicDmaStop(gm, g, VDEV_ID));

      refusedWith(await tsmUnlock(gm, g, VDEV_ID), 'EBUSY');
      done(driverUnbind(g, VDEV_ID));
      done(await tsmUnlock(gm, g, VDEV_ID));
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
      assert.equal(w.p.tsm.tdis.get(w.rid)?.vm, undefined, 'the TDI is no longer bound');
      // Locked and run again from scratch; on CCA the unmapped IPAs stay RIPAS_DESTROYED,
      // so the VMM would have to map the BAR elsewhere (not modelled here).
      if (flavour !== 'cca') await toRun(w, policy);
    });
  });

  describe(`${flavour} guest: tsm/lock, tsm/accept, tsm/unlock errnos`, () => {
    it('lock: -ENXIO not devsec, -EBUSY locked or driver bound, the host errno passed on', async () => {
      const plain = await guestWorld(flavour, seed, { device: { devsec: false } });
      refusedWith(await tsmLock(plain.gm, plain.g, VDEV_ID), 'ENXIO');
      const w = await guestWorld(flavour, seed);
      refusedWith(await tsmLock(w.gm, w.g, 7), 'ENODEV');
      done(await tsmLock(w.gm, w.g, VDEV_ID));
      assert.match(refusedWith(await tsmLock(w.gm, w.g, VDEV_ID), 'EBUSY'), /already locked/);
      const busy = await guestWorld(flavour, seed);
      const dev = busy.g.devices.get(VDEV_ID);
      if (dev) dev.driver = true; // a driver bound to the shared device before lock
      assert.match(refusedWith(await tsmLock(busy.gm, busy.g, VDEV_ID), 'EBUSY'), /driver/);
      const dropped = await guestWorld(flavour, seed, {
        vmm: async () => ({ ok: false, errno: 'EIO', detail: 'the VMM dropped it' }),
      });
      refusedWith(await tsmLock(dropped.gm, dropped.g, VDEV_ID), 'EIO');
      assert.equal(dropped.g.devices.get(VDEV_ID)?.tsm, 'unlocked');
    });

    it('accept: "0" and not locked -EINVAL, driver bound or DMA busy -EBUSY, unattested -EPERM', async () => {
      const w = await guestWorld(flavour, seed);
      const { gm, g } = w;
      refusedWith(await tsmAccept(gm, g, VDEV_ID, '1'), 'EINVAL');
      done(await tsmLock(gm, g, VDEV_ID));
      refusedWith(await tsmAccept(gm, g, VDEV_ID, '0'), 'EINVAL');
      refusedWith(await tsmAccept(gm, g, VDEV_ID, '1'), 'EPERM');
      const c = done(await collectEvidence(gm, g, VDEV_ID));
      done(verifyCollected(g, VDEV_ID, policy, c));
      const dev = g.devices.get(VDEV_ID);
      assert.ok(dev);
      dev.driver = true;
      refusedWith(await tsmAccept(gm, g, VDEV_ID, '1'), 'EBUSY');
      dev.driver = false;
      dev.dmaActive = true;
      assert.match(refusedWith(await tsmAccept(gm, g, VDEV_ID, '1'), 'EBUSY'), /DMA/);
      dev.dmaActive = false;
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED', 'no refusal started it');
      done(await tsmAccept(gm, g, VDEV_ID, '1'));
      refusedWith(await tsmAccept(gm, g, VDEV_ID, '1'), 'EINVAL');
      refusedWith(await tsmAccept(gm, g, VDEV_ID, '0'), 'EINVAL');
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
    });

    it('unlock: -EINVAL when not locked, -EBUSY with a driver bound; the driver needs RUN', async () => {
      const w = await guestWorld(flavour, seed);
      const { gm, g } = w;
      refusedWith(await tsmUnlock(gm, g, VDEV_ID), 'EINVAL');
      done(await tsmLock(gm, g, VDEV_ID));
      refusedWith(driverBind(g, VDEV_ID), 'EINVAL');
      done(await tsmUnlock(gm, g, VDEV_ID));
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    });
  });

  describe(`${flavour} guest: evidence refused with the verifier's reason`, () => {
    const locked = async (o: Parameters<typeof guestWorld>[2] = {}) => {
      const w = await guestWorld(flavour, seed, o);
      done(await tsmLock(w.gm, w.g, VDEV_ID));
      return w;
    };
    const refusedNotAccepted = (w: GuestWorld) => {
      assert.equal(w.g.devices.get(VDEV_ID)?.attested, undefined);
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
    };

    it('forged: a measurement that is not the reference, a chain under another root', async () => {
      const w = await locked();
      const c = done(await collectEvidence(w.gm, w.g, VDEV_ID));
      const measurements = c.evidence.measurements.map((b): MeasurementBlock => {
        if (b.index !== 2 || b.kind !== 'dmtf') return b;
        const value = b.value.slice();
        value[0] ^= 1;
        return { ...b, value };
      });
      const forged: CollectedEvidence = { ...c, evidence: { ...c.evidence, measurements } };
      const v = verifyCollected(w.g, VDEV_ID, policy, forged);
      assert.deepEqual(checks(v), ['measurements']);
      refusedNotAccepted(w);
      refusedWith(await tsmAccept(w.gm, w.g, VDEV_ID, '1'), 'EPERM');

      const c2 = done(await collectEvidence(w.gm, w.g, VDEV_ID));
      const other = await policyOf(flavour, `${seed} another device`);
      const p = { ...policy, trustAnchors: other.trustAnchors };
      assert.deepEqual(checks(verifyCollected(w.g, VDEV_ID, p, c2)), ['chain']);
      refusedNotAccepted(w);
    });

    it('replayed: evidence of an earlier lock, bound to a nonce used before', async () => {
      const w = await locked();
      const old = done(await collectEvidence(w.gm, w.g, VDEV_ID));
      done(verifyCollected(w.g, VDEV_ID, policy, old));
      done(await tsmUnlock(w.gm, w.g, VDEV_ID));
      done(await tsmLock(w.gm, w.g, VDEV_ID));
      done(await collectEvidence(w.gm, w.g, VDEV_ID));
      const v = verifyCollected(w.g, VDEV_ID, policy, old);
      assert.deepEqual(checks(v), ['freshness']);
      assert.match(v.ok ? '' : v.detail, /replayed/);
      refusedNotAccepted(w);
    });

    it('mismatched: the report MMIO ranges against the BARs the guest was given', async () => {
      const w = await locked({ device: { bars: [] } });
      const bar = w.m.barAddress(w.rid, 0);
      assert.ok(bar);
      const dev = w.g.devices.get(VDEV_ID);
      assert.ok(dev);
      // The VMM told the guest of a second BAR the report does not cover.
      dev.bars = [
        { index: 0, address: 0x4000_0000n, size: bar.size },
        { index: 2, address: 0x5000_0000n, size: 0x4000n },
      ];
      const o = await attestAndAccept(w.gm, w.g, VDEV_ID, policy);
      assert.deepEqual([...new Set(checks(o))], ['mmio-ranges']);
      assert.match(o.ok ? '' : o.detail, /BAR 2/);
      refusedNotAccepted(w);
    });
  });
}
