/**
 * A platform world snapshot taken in the middle of an SPDM session (after tsm/connect) and
 * restored: the bind that follows (the TSM's LOCK_INTERFACE_REQUEST in the open session,
 * under its keys and sequence numbers) repeats byte for byte, in the same world and in a
 * fresh world built with the same options.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LINK_TSM, pciTsmBind, pciTsmConnect } from '../../src/host/pci-tsm/core.ts';
import { createHostState, type HostState } from '../../src/host/state.ts';
import { tsmDriver } from '../../src/host/tsm/index.ts';
import type { FlavourName } from '../../src/platform/flavours.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import {
  createPlatformWorld,
  hostMachine,
  type PlatformWorld,
} from '../../src/world/platform-world.ts';
import {
  type PlatformWorldSnapshot,
  restorePlatformWorld,
  snapshotPlatformWorld,
} from '../../src/world/snapshot.ts';

const VM = 'vm1';

async function connected(flavour: FlavourName) {
  const w = await createPlatformWorld({ flavour, seed: `snapshot ${flavour}` });
  const h = createHostState();
  const m = hostMachine(w);
  const c = await pciTsmConnect(m, h, { dsm: w.dev.device.requesterId(0), tsm: LINK_TSM });
  assert.ok(c.ok, c.ok ? '' : c.detail);
  return { w, h };
}

/** The VM and the bind, with every DOE object the TSM's LOCK put on the wire. */
async function bind(w: PlatformWorld, h: HostState) {
  const m = hostMachine(w);
  const wire: string[] = [];
  const mailbox = w.carriers.get(w.dev.device.requesterId(0));
  assert.ok(mailbox);
  w.carriers.set(w.dev.device.requesterId(0), {
    ...mailbox,
    exchange: async (req, timeoutMs) => {
      const rsp = await mailbox.exchange(req, timeoutMs);
      wire.push(Buffer.from(req.bytes).toString('hex'), Buffer.from(rsp.bytes).toString('hex'));
      return rsp;
    },
  });
  try {
    const driver = tsmDriver(m);
    assert.ok(driver);
    const v = await driver.vmCreate(m, h, VM);
    assert.ok(v.ok, v.ok ? '' : v.detail);
    const rid = w.dev.tdis()[0].requesterId;
    const b = await pciTsmBind(m, h, { rid, vm: VM, vdevId: 1 });
    assert.ok(b.ok, b.ok ? '' : b.detail);
  } finally {
    w.carriers.set(w.dev.device.requesterId(0), mailbox);
  }
  return {
    wire,
    tdi: w.dev.dsm.tdiState(w.dev.tdis()[0].fn),
    world: canonicalHash(snapshotPlatformWorld(w)),
    host: canonicalHash(h),
  };
}

for (const flavour of ['tdx', 'sev', 'cca'] as const) {
  describe(`platform world snapshot (${flavour})`, () => {
    it('restored mid-session, the bind repeats byte for byte; the snapshot is reusable', async () => {
      const { w, h } = await connected(flavour);
      const snap: PlatformWorldSnapshot = snapshotPlatformWorld(w);
      const hSnap = structuredClone(h);
      const first = await bind(w, h);
      assert.equal(first.tdi, 'CONFIG_LOCKED');
      assert.ok(first.wire.length > 0, 'the bind went to the device');

      restorePlatformWorld(w, snap);
      assert.equal(canonicalHash(snapshotPlatformWorld(w)), canonicalHash(snap));
      const again = await bind(w, structuredClone(hSnap));
      assert.deepEqual(again, first);

      // A fresh world with the same options takes the snapshot too.
      const fresh = await createPlatformWorld({ flavour, seed: `snapshot ${flavour}` });
      restorePlatformWorld(fresh, snap);
      assert.deepEqual(await bind(fresh, structuredClone(hSnap)), first);
    });

    it('a snapshot of another flavour is refused, the world untouched', async () => {
      const { w } = await connected(flavour);
      const other = flavour === 'tdx' ? 'sev' : 'tdx';
      const o = await createPlatformWorld({ flavour: other, seed: 'other' });
      const before = canonicalHash(snapshotPlatformWorld(w));
      assert.throws(
        () => restorePlatformWorld(w, snapshotPlatformWorld(o)),
        new RegExp(`snapshot of a ${other} world restored into a ${flavour} world`),
      );
      assert.equal(canonicalHash(snapshotPlatformWorld(w)), before);
    });
  });
}
