/**
 * A whole world (platform, host kernel, VMM, guests) snapshotted at every step of the CoCo-VM
 * lifecycle and restored: what follows repeats exactly (the same answers, the same state
 * after each step) in the same world and in a fresh one built from the same config. The
 * explorer's kept transitions and its walks from snapshots are sound only because of this.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultBackbone } from '../../src/scenario/explore/moves.ts';
import type { DoeMailboxTransport } from '../../src/transport/doe-mailbox.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import { World, type WorldConfig, type WorldStep } from '../../src/world/world.ts';

async function run(w: World, steps: readonly WorldStep[]) {
  const out: string[] = [];
  for (const s of steps) {
    const r = await w.perform(s);
    w.trace.records.length = 0;
    out.push(`${s.do} ${r.ok ? 'ok' : r.errno} ${w.tdiState(s)} ${canonicalHash(w.snapshot())}`);
  }
  return out;
}

for (const flavour of ['tdx', 'sev', 'cca'] as const) {
  describe(`world snapshot (${flavour})`, () => {
    it('a lifecycle resumed from a snapshot at any step repeats exactly, here and in a fresh world', async () => {
      const config: WorldConfig = { flavour, seed: `world snapshot ${flavour}` };
      const w = await World.create(config);
      const steps = defaultBackbone(w);
      const root = w.snapshot();
      const snaps = [root];
      const straight: string[] = [];
      for (const s of steps) {
        straight.push(...(await run(w, [s])));
        snaps.push(w.snapshot());
      }
      assert.ok(
        straight.every((l) => / ok /.test(l)),
        straight.join('\n'),
      );
      assert.ok(
        straight.some((l) => l.includes(' RUN ')),
        'the lifecycle reaches RUN',
      );
      // Resume from every third point (each restore undoes what the previous resume did).
      for (let k = 0; k < steps.length; k += 3) {
        w.restore(snaps[k]);
        assert.deepEqual(await run(w, steps.slice(k)), straight.slice(k), `resumed at step ${k}`);
      }
      const fresh = await World.create(config);
      fresh.restore(snaps[5]);
      assert.deepEqual(await run(fresh, steps.slice(5)), straight.slice(5), 'in a fresh world');
    });

    it('refuses a snapshot of a world with other VMs', async () => {
      const a = await World.create({ flavour, vms: [{ name: 'a', devices: [{ tdi: 1 }] }] });
      const b = await World.create({ flavour, vms: [{ name: 'b', devices: [{ tdi: 1 }] }] });
      assert.throws(() => b.restore(a.snapshot()), /VMs 'a'/);
    });
  });
}

describe("world snapshot: the host's DOE mailbox driver", () => {
  it('a mailbox a later step left dead is live again once an earlier snapshot is restored', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'doe driver in the snapshot' });
    const steps = defaultBackbone(w);
    const before = w.snapshot();
    const mailbox = w.pw.carriers.get(w.pw.dev.device.requesterId(0)) as DoeMailboxTransport;
    // As an abort that never completed leaves it (Linux PCI_DOE_FLAG_DEAD).
    mailbox.restore({ ...mailbox.state(), phase: 'dead' });
    assert.equal(mailbox.dead, true);
    const dead = await run(w, steps);
    assert.ok(
      dead.some((l) => !/ ok /.test(l)),
      `a dead mailbox fails the lifecycle:\n${dead.join('\n')}`,
    );
    w.restore(before);
    assert.equal(mailbox.dead, false);
    const live = await run(w, steps);
    assert.ok(
      live.every((l) => / ok /.test(l)),
      live.join('\n'),
    );
  });
});
