/**
 * The device's ERROR triggers as the world drives them: invariants I5 and I7 break on what a
 * flawed DSM leaves and hold on the faithful one; each device flaw's shipped scenario breaks
 * exactly the invariants FLAWS names, and the same steps on a faithful device break none;
 * every candidate of the host's config operations and of the device's firmware update is
 * safe to perform in a fresh world and in a running one; a firmware update changes what the
 * device measures, and is refused while a TDI locked with NO_FW_UPDATE runs.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadScenario } from '../../src/scenario/load.ts';
import { CATALOGUE } from '../../src/scenario/world.ts';
import { FLAWS, type FlawName } from '../../src/world/flaws.ts';
import {
  checkInvariants,
  INVARIANTS,
  type InvariantView,
  type StepEvent,
} from '../../src/world/invariants.ts';
import { OPS } from '../../src/world/ops/index.ts';
import { World, type WorldStep } from '../../src/world/world.ts';

const inv = (id: string) => {
  const i = INVARIANTS.find((x) => x.id === id);
  assert.ok(i, id);
  return i;
};

/** A view of one TDI (fn 1, requester id 0x0001) in `state`, with `residue` as given. */
function deviceView(state: string, residue?: { bar: number; offset: number }): InvariantView {
  return {
    flavour: 'tdx',
    dev: {
      tdis: () => [
        {
          fn: 1,
          requesterId: 1,
          interfaceId: { requesterId: 1, segment: 0, segmentValid: false },
          bars: [],
        },
      ],
      dsm: { tdiState: () => state },
      residue: () => residue,
    },
  } as unknown as InvariantView;
}

const trigger = (tdiState: string, event: object, streams: number[] = []): StepEvent => ({
  kind: 'DEVICE_SECURITY_EVENT',
  fn: 1,
  event,
  tdiState,
  streams,
});

const t1Read: StepEvent = {
  kind: 'transaction',
  domain: 'guest',
  request: 'MemRd',
  t: true,
  rid: 1,
  address: 0x1000n,
  length: 4,
  verdict: 'SC',
};

describe('I5 error-trigger-yields-error', () => {
  const i5 = inv('I5');
  it('breaks when a trigger leaves the TDI locked or running, holds once it is in ERROR', () => {
    const v = deviceView('RUN');
    const bar = { kind: 'BAR_WRITE', bar: 0 };
    assert.equal(i5.check(v, [trigger('RUN', bar)]).length, 1);
    assert.equal(i5.check(v, [trigger('CONFIG_LOCKED', { kind: 'FLR', fromPf: true })]).length, 1);
    assert.match(
      i5.check(v, [trigger('RUN', { kind: 'FLR', fromPf: true })])[0].detail,
      /PF FLR on fn 1 left its TDI in RUN/,
    );
    assert.deepEqual(i5.check(v, [trigger('ERROR', bar)]), []);
    // Triggers in CONFIG_UNLOCKED change nothing, and need not.
    assert.deepEqual(i5.check(v, [trigger('CONFIG_UNLOCKED', bar)]), []);
  });

  it("a stream's loss concerns only the TDIs bound to that stream", () => {
    const v = deviceView('RUN');
    const lost = { kind: 'IDE_STREAM_INSECURE', streamId: 2 };
    assert.deepEqual(i5.check(v, [trigger('RUN', lost, [0])]), []);
    assert.equal(i5.check(v, [trigger('RUN', lost, [2])]).length, 1);
  });

  it('breaks on T=1 traffic of a TDI in ERROR, not once the step stopped it', () => {
    const before = deviceView('ERROR');
    assert.equal(i5.check(deviceView('ERROR'), [t1Read], before).length, 1);
    const stopped: StepEvent = {
      kind: 'TDI_STATE',
      fn: 1,
      from: 'ERROR',
      to: 'CONFIG_UNLOCKED',
      cause: 'STOP_INTERFACE_REQUEST',
    };
    assert.deepEqual(i5.check(deviceView('RUN'), [stopped, t1Read], before), []);
    // Refused traffic is no traffic.
    assert.deepEqual(i5.check(deviceView('ERROR'), [{ ...t1Read, verdict: 'UR' }], before), []);
    assert.deepEqual(i5.check(deviceView('RUN'), [t1Read], deviceView('RUN')), []);
  });
});

describe('I7 unlocked-means-scrubbed', () => {
  const i7 = inv('I7');
  const stop = (from: string): StepEvent => ({
    kind: 'TDI_STATE',
    fn: 1,
    from,
    to: 'CONFIG_UNLOCKED',
    cause: 'STOP_INTERFACE_REQUEST',
  });
  it('breaks when a TDI returns to CONFIG_UNLOCKED with memory left, holds when scrubbed', () => {
    const left = deviceView('CONFIG_UNLOCKED', { bar: 0, offset: 0x200 });
    assert.match(i7.check(left, [stop('RUN')])[0].detail, /BAR0 offset 0x200 not scrubbed/);
    assert.equal(i7.check(left, [stop('ERROR')]).length, 1);
    assert.deepEqual(i7.check(deviceView('CONFIG_UNLOCKED'), [stop('RUN')]), []);
  });
  it('says nothing of a TDI that did not leave a locked state in the step', () => {
    const left = deviceView('CONFIG_UNLOCKED', { bar: 0, offset: 0 });
    assert.deepEqual(i7.check(left, []), []);
    // Host data written in CONFIG_UNLOCKED is not guest data.
    const relocked: StepEvent = { ...stop('RUN'), to: 'CONFIG_UNLOCKED' };
    const thenLocked: StepEvent = {
      kind: 'TDI_STATE',
      fn: 1,
      from: 'CONFIG_UNLOCKED',
      to: 'CONFIG_LOCKED',
      cause: 'LOCK_INTERFACE_REQUEST',
    };
    assert.deepEqual(i7.check(left, [relocked, thenLocked]), []);
  });
});

const DEVICE_FLAWS = readdirSync('scenarios/flaws')
  .filter((f) => f.startsWith('device-') && f.endsWith('.yaml'))
  .sort();

describe('device flaws', () => {
  it('every device flaw of the catalogue has its scenario', () => {
    const device = Object.entries(FLAWS)
      .filter(([, f]) => f.component === 'device')
      .map(([n]) => `${n}.yaml`)
      .sort();
    for (const f of device) assert.ok(DEVICE_FLAWS.includes(f), f);
  });

  for (const file of DEVICE_FLAWS) {
    const flaw = file.replace(/\.yaml$/, '') as FlawName;
    it(`${flaw}: the scenario breaks what FLAWS says; the same steps without it break nothing`, async () => {
      const s = loadScenario(path.join('scenarios/flaws', file), CATALOGUE);
      assert.deepEqual(s.world.flaws, [flaw]);
      const announced = s.steps.flatMap((x) => x.expect?.violates ?? []);
      assert.ok(announced.length > 0);
      for (const id of announced) assert.ok(FLAWS[flaw].breaks.includes(id as never), id);
      // The faithful device: same world, same steps, no flaw.
      const w = await World.create({
        flavour: s.world.flavour,
        seed: s.name,
        vms: s.world.vms,
      });
      for (const step of s.steps) {
        const before = w.frozenView();
        const r = await w.perform(step);
        assert.deepEqual(checkInvariants(w.view(), r.events, before), [], step.do);
        // Where the flaw broke an invariant the faithful device did its job.
        if (step.expect?.violates?.includes('I5')) assert.equal(w.tdiState(step), 'ERROR');
        if (step.expect?.violates?.includes('I7')) {
          assert.equal(w.pw.dev.device.residue(w.tdiFn(step)), undefined);
        }
      }
    });
  }
});

const NEW_OPS = Object.keys(OPS).filter(
  (n) => n.startsWith('host.pci/') || n === 'device.firmware-update',
);

/** Performs every candidate of the new operations; none may throw, each refusal has an errno. */
async function allCandidates(w: World): Promise<number> {
  let n = 0;
  for (const name of NEW_OPS) {
    const steps: WorldStep[] = OPS[name].candidates?.(w) ?? [];
    assert.ok(steps.length > 0 || name === 'host.pci/msix-write', `${name} has candidates`);
    for (const step of steps) {
      assert.equal(step.do, name);
      const r = await w.perform(step);
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.match(r.errno ?? '', /^[A-Z]/, `${name} ${JSON.stringify(step.args)}`);
      n++;
    }
  }
  return n;
}

describe('the config and device-trigger operations', () => {
  it('every candidate is safe in a fresh world', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'candidates fresh' });
    assert.ok((await allCandidates(w)) > 40);
  });

  it('every candidate is safe under a running TDI, and the faithful device keeps I5 and I7', async () => {
    const w = await World.create({ flavour: 'sev', seed: 'candidates running' });
    for (const d of [
      'host.tsm/connect',
      'vmm.create-vm',
      'vmm.assign',
      'guest.tsm/lock',
      'guest.attest',
      'guest.tsm/accept',
    ]) {
      assert.equal((await w.perform({ do: d })).ok, true, d);
    }
    for (const name of NEW_OPS) {
      for (const step of OPS[name].candidates?.(w) ?? []) {
        const before = w.frozenView();
        const r = await w.perform(step);
        const broken = checkInvariants(w.view(), r.events, before).filter(
          (v) => v.invariant === 'I5' || v.invariant === 'I7',
        );
        assert.deepEqual(broken, [], `${name} ${JSON.stringify(step.args)}`);
      }
    }
  });

  it('a PF FLR through the kernel takes every VF TDI to ERROR; unknown paths are refused', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'pf flr' });
    for (const d of ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign', 'guest.tsm/lock']) {
      assert.equal((await w.perform({ do: d })).ok, true, d);
    }
    const bad = await w.perform({ do: 'host.pci/flr', args: { fn: 0, via: 'setpci' } });
    assert.equal(bad.errno, 'EINVAL');
    const gone = await w.perform({ do: 'host.pci/flr', args: { fn: 77 } });
    assert.equal(gone.errno, 'ENODEV');
    const r = await w.perform({ do: 'host.pci/flr', args: { fn: 0 } });
    assert.equal(r.ok, true);
    assert.equal(w.pw.dev.dsm.tdiState(1), 'ERROR');
    assert.ok(r.events.some((e) => e.kind === 'uapi' && e.op === 'pci_reset_function'));
    // The restore re-enabled the VFs: the TDI can be stopped.
    assert.deepEqual(
      w.pw.dev.tdis().map((t) => t.fn),
      [1, 2, 3, 4],
    );
  });
});

describe('a world whose VFs vanished', () => {
  it('answers every operation on a VF that is gone instead of throwing', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'vanished' });
    assert.equal((await w.perform({ do: 'vmm.create-vm' })).ok, true);
    // The PF's SR-IOV VF Enable cleared by the host: VFs 1..4 leave the bus.
    // SR-IOV Control with VF Enable cleared and VF MSE kept: the PF's first such candidate.
    const clear = OPS['host.pci/config-write']
      .candidates?.(w)
      .find((c) => c.args?.fn === 0 && Number(c.args.offset) >= 0x100 && c.args.value === 0x8);
    assert.ok(clear);
    assert.equal((await w.perform(clear)).ok, true);
    assert.deepEqual(w.pw.dev.tdis(), []);
    for (const d of [
      'vmm.assign',
      'host.mse-clear',
      'host.reset',
      'host.pci/flr',
      'host.mmio-read',
    ]) {
      const r = await w.perform({ do: d });
      assert.equal(r.ok, false, d);
    }
  });
});

describe('device.firmware-update', () => {
  it('changes the firmware, version and SVN measurements; refused while locked with NO_FW_UPDATE', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'firmware' });
    const served = () =>
      new Map(
        w.pw.dev.doeResponder.config.measurements.map((m) => [
          m.index,
          Buffer.from(m.value).toString('hex'),
        ]),
      );
    const v1 = served();
    const up = await w.perform({ do: 'device.firmware-update' });
    assert.equal(up.ok, true);
    const v2 = served();
    assert.deepEqual(
      [...v1.keys()].filter((i) => v1.get(i) !== v2.get(i)),
      [2, 5, 6],
    );
    assert.equal(Buffer.from(v2.get(5) ?? '', 'hex').toString(), 'teeio-nic 2.0');
    assert.equal(w.pw.dev.dsm.firmwareVersion, 2);
    const ev = up.events.find((e) => e.kind === 'FIRMWARE_UPDATE') as
      | { from: number; to: number; result: string }
      | undefined;
    assert.deepEqual(ev && { from: ev.from, to: ev.to, result: ev.result }, {
      from: 1,
      to: 2,
      result: 'applied',
    });
    for (const d of ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign', 'guest.tsm/lock']) {
      assert.equal((await w.perform({ do: d })).ok, true, d);
    }
    const no = await w.perform({ do: 'device.firmware-update', args: { version: 9 } });
    assert.equal(no.errno, 'EPERM');
    assert.equal(w.pw.dev.dsm.firmwareVersion, 2);
    assert.equal(w.pw.dev.dsm.tdiState(1), 'CONFIG_LOCKED');
    assert.equal(
      (await w.perform({ do: 'device.firmware-update', args: { version: 0 } })).errno,
      'EINVAL',
    );
  });
});

describe('the evidence of a lock is read under it', () => {
  for (const flavour of ['tdx', 'sev', 'cca'] as const) {
    it(`${flavour}: after an update between two locks, the guest attests the new firmware`, async () => {
      const w = await World.create({
        flavour,
        seed: `relock evidence ${flavour}`,
        vms: [{ name: 'vm1', devices: [{ tdi: 1 }] }],
      });
      const version = () => {
        const d = [...(w.vms.get('vm1')?.guest?.devices.values() ?? [])][0];
        const m = d?.attested?.evidence.measurements.find((b) => b.index === 5);
        return m?.kind === 'dmtf' ? Buffer.from(m.value).toString() : undefined;
      };
      const run = async (...steps: string[]) => {
        for (const d of steps) assert.equal((await w.perform({ do: d })).ok, true, d);
      };
      await run('host.tsm/connect', 'vmm.create-vm', 'vmm.assign', 'guest.tsm/lock');
      await run('guest.attest', 'guest.tsm/accept');
      assert.equal(version(), 'teeio-nic 1.0');
      await run('guest.tsm/unlock', 'device.firmware-update', 'guest.tsm/lock', 'guest.attest');
      // No reconnect: the TSM's session is the one of the first lock.
      assert.equal(version(), 'teeio-nic 2.0');
      await run('guest.tsm/accept');
      assert.equal(w.pw.dev.dsm.tdiState(1), 'RUN');
    });
  }
});
