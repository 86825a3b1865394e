/**
 * Invariants I11 and I12 (SYSTEM.md section 5) over whole worlds: they hold on every step of
 * the faithful guest's lifecycle, and break on what a flawed guest leaves: a lock or accept
 * made with a driver bound or DMA running (I11), an accept on no verified evidence, on a
 * replayed TDI_INFO reply or on a report the VMM rewrote (I12, the seeded flaws
 * guest-accept-unchecked and vmm-rewrite-unnoticed). The flaw scenarios run again without
 * their flaw: the same steps break nothing, and the guest refuses with its reason. The
 * explorer, the VMM's and the guest's operations its moves and each flaw's scenario its
 * backbone (teeio explore --config), finds and shrinks the I12 break; on the faithful guest
 * it breaks neither I11 nor I12.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explore } from '../../src/scenario/explore/explore.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { CATALOGUE } from '../../src/scenario/world.ts';
import { checkInvariants, INVARIANTS, type Violation } from '../../src/world/invariants.ts';
import type { StepResult } from '../../src/world/ops/index.ts';
import { World, type WorldConfig, type WorldStep } from '../../src/world/world.ts';

const ids = (vs: Violation[]) => [...new Set(vs.map((v) => v.invariant))];
const only = (id: string) => INVARIANTS.filter((i) => i.id === id);

/** Performs `steps`, checking every invariant after each; what each step came to. */
async function run(w: World, steps: WorldStep[]) {
  const out: { step: WorldStep; r: StepResult; violations: Violation[] }[] = [];
  for (const step of steps) {
    const before = w.frozenView();
    const r = await w.perform(step);
    out.push({ step, r, violations: checkInvariants(w.view(), r.events, before) });
  }
  return out;
}

const ok = (r: StepResult, why: string) =>
  assert.equal(r.ok, true, `${why}: ${r.errno} ${r.detail}`);

const LIFECYCLE: WorldStep[] = [
  { do: 'host.tsm/connect' },
  { do: 'vmm.create-vm' },
  { do: 'vmm.assign' },
  { do: 'guest.tsm/lock' },
  { do: 'guest.attest' },
  { do: 'guest.tsm/accept' },
];

describe('I11 and I12 on the faithful guest', () => {
  for (const flavour of ['tdx', 'sev', 'cca'] as const) {
    it(`${flavour}: lock, attest, accept, use, unlock: no step breaks I11 or I12`, async () => {
      const w = await World.create({ flavour, seed: `guest invariants ${flavour}` });
      const steps = await run(w, [
        ...LIFECYCLE,
        { do: 'guest.driver/bind' },
        { do: 'guest.mmio-write', args: { offset: 0 } },
        { do: 'guest.tsm/unlock' },
        { do: 'guest.driver/unbind' },
        { do: 'guest.tsm/unlock' },
      ]);
      for (const s of steps) assert.deepEqual(s.violations, [], s.step.do);
      // The refused unlock (driver bound) is no I11 case: only what the guest did counts.
      assert.equal(steps[8].r.errno, 'EBUSY');
      assert.equal(w.tdiState({ do: '' }), 'CONFIG_UNLOCKED');
    });
  }
});

describe('I11 breaks on what a guest that ignores its driver leaves', () => {
  it('a lock and an accept made with a driver bound, an accept with DMA running', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'I11' });
    for (const s of LIFECYCLE.slice(0, 3)) ok(await w.perform(s), s.do);
    const dev = () => w.vms.get('vm1')?.guest?.devices.get(0x10);
    // The records a flawed lock starts from: a driver holds the shared device.
    const before = w.frozenView();
    const guest = before.guests?.get('vm1')?.devices.get(0x10);
    assert.ok(guest);
    guest.driver = true;
    const lock = await w.perform({ do: 'guest.tsm/lock' });
    ok(lock, 'lock');
    const found = only('I11').flatMap((i) => i.check(w.view(), lock.events, before));
    assert.deepEqual(ids(found), ['I11']);
    assert.match(found[0].detail, /^tsm\/lock of vm1 device 0x10 with a driver bound$/);
    // The faithful guest refuses that lock instead (EBUSY), and nothing breaks.
    const w2 = await World.create({ flavour: 'tdx', seed: 'I11' });
    for (const s of LIFECYCLE.slice(0, 3)) ok(await w2.perform(s), s.do);
    const g2 = w2.vms.get('vm1')?.guest?.devices.get(0x10);
    assert.ok(g2);
    g2.driver = true;
    const [refused] = await run(w2, [{ do: 'guest.tsm/lock' }]);
    assert.equal(refused.r.errno, 'EBUSY');
    assert.deepEqual(refused.violations, []);

    ok(await w.perform({ do: 'guest.attest' }), 'attest');
    const before2 = w.frozenView();
    const running = before2.guests?.get('vm1')?.devices.get(0x10);
    assert.ok(running && dev());
    running.dmaActive = true;
    const accept = await w.perform({ do: 'guest.tsm/accept' });
    ok(accept, 'accept');
    const dma = only('I11').flatMap((i) => i.check(w.view(), accept.events, before2));
    assert.deepEqual(
      dma.map((v) => v.detail),
      ['tsm/accept of vm1 device 0x10 while its DMA was running'],
    );
  });
});

describe('I12 breaks on what a flawed guest accepts', () => {
  it('an accept with no verified evidence for the lock', async () => {
    const w = await World.create({ flavour: 'sev', seed: 'I12 unverified' });
    for (const s of LIFECYCLE.slice(0, 5)) ok(await w.perform(s), s.do);
    const before = w.frozenView();
    const accept = await w.perform({ do: 'guest.tsm/accept' });
    ok(accept, 'accept');
    assert.deepEqual(checkInvariants(w.view(), accept.events, before), []);
    // A guest that accepted without its attester's verdict leaves no verified evidence.
    const dev = w.vms.get('vm1')?.guest?.devices.get(0x10);
    assert.ok(dev);
    dev.attested = undefined;
    const found = only('I12').flatMap((i) => i.check(w.view(), accept.events, before));
    assert.deepEqual(
      found.map((v) => v.detail),
      ['vm1 device 0x10 accepted: no evidence was verified for this lock'],
    );
  });

  it('an accept on evidence a policy refuses, and on a TDI that was not CONFIG_LOCKED', async () => {
    const w = await World.create({ flavour: 'tdx', seed: 'I12 policy' });
    const steps = await run(w, LIFECYCLE);
    assert.deepEqual(
      steps.flatMap((s) => s.violations),
      [],
    );
    const accept = steps[5].r;
    const before = w.frozenView();
    const tdi = [...before.p.tsm.tdis.values()].find((t) => t.vm !== undefined);
    assert.ok(tdi);
    tdi.state = 'CONFIG_UNLOCKED';
    const other = { ...w.policy, trustAnchors: [new Uint8Array([0x30, 0x00])] };
    const found = only('I12').flatMap((i) =>
      i.check({ ...w.view(), policy: other }, accept.events, before),
    );
    assert.equal(found.length, 2);
    assert.match(found[0].detail, /the TDI was CONFIG_UNLOCKED, not CONFIG_LOCKED/);
    assert.match(found[1].detail, /chain: /);
  });

  for (const [flaw, errno, reason] of [
    // SEV: the replayed reply is refused by the guest's message layer (the seal).
    ['guest-accept-unchecked', 'EBADMSG', /reply out of sequence .*: replayed or reordered/],
    [
      'vmm-rewrite-unnoticed',
      'EACCES',
      /report: the report the host handed over is not the one report_digest names/,
    ],
  ] as const) {
    it(`${flaw}: its scenario breaks I12; the same steps on the faithful guest break nothing`, async () => {
      const file = `scenarios/flaws/${flaw}.yaml`;
      const s = loadScenario(file, CATALOGUE);
      assert.deepEqual(s.world.flaws, [flaw]);
      const config = (flaws: string[]): WorldConfig => ({
        flavour: s.world.flavour,
        seed: s.world.seed ?? s.name,
        flaws,
      });
      const steps = s.steps.map(({ do: d, vm, tdi, args }) => ({ do: d, vm, tdi, args }));

      const flawed = await run(await World.create(config([flaw])), steps);
      const broke = flawed.flatMap((x) => x.violations);
      assert.deepEqual(ids(broke), ['I12']);
      assert.equal(flawed.at(-1)?.violations.length, 1, 'at the accept');

      const faithful = await run(await World.create(config([])), steps);
      assert.deepEqual(
        faithful.flatMap((x) => x.violations),
        [],
      );
      const attest = faithful.at(-2)?.r;
      assert.equal(attest?.errno, errno);
      assert.match(attest?.detail ?? '', reason);
      const accept = faithful.at(-1)?.r;
      assert.equal(accept?.errno, 'EPERM');
    });
  }
});

describe('the explorer and the guest flaws', () => {
  // The VMM is the adversary here: its moves and the guest's (which may attest again).
  const o = {
    strategy: 'random' as const,
    depth: 40,
    steps: 2000,
    seed: 'a',
    actors: ['vmm', 'guest'] as ('vmm' | 'guest')[],
  };

  for (const flaw of ['vmm-rewrite-unnoticed', 'guest-accept-unchecked'] as const) {
    it(`${flaw}: from its scenario as the backbone (teeio explore --config) the explorer finds I12 and shrinks it; the faithful guest breaks neither I11 nor I12`, async () => {
      const file = `scenarios/flaws/${flaw}.yaml`;
      const s = loadScenario(file, CATALOGUE);
      const backbone = s.steps.map(({ do: d, vm, tdi, args }) => ({ do: d, vm, tdi, args }));
      const flawed = await explore({ world: s.world, file, backbone }, o);
      const v = flawed.violations.find((x) => x.invariant === 'I12');
      assert.ok(v, `found: ${flawed.violations.map((x) => x.invariant).join(', ') || 'nothing'}`);
      assert.ok(v.steps.length <= s.steps.length);
      assert.ok(v.steps.some((x) => x.do === 'vmm.relay'));
      const world = { ...s.world, flaws: [] };
      const faithful = await explore({ world, file, backbone }, o);
      assert.deepEqual(
        faithful.violations.filter((x) => x.invariant === 'I11' || x.invariant === 'I12'),
        [],
      );
    });
  }
});
