/**
 * Seeded flaws (src/world/flaws.ts): each lives in its component's own records, and each
 * shipped scenario under scenarios/flaws/ shows its flaw breaking exactly the invariants the
 * catalogue names, while the same steps on a faithful world break none (the scenario shows the
 * flaw, not a design answer that breaks an invariant anyway).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { CATALOGUE, scenarioWorld } from '../../src/scenario/world.ts';
import { FLAWS, type FlawName } from '../../src/world/flaws.ts';
import { World } from '../../src/world/world.ts';

const DIR = path.join('scenarios', 'flaws');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('seeded flaws', () => {
  it('each component gets its own flaws in its plain-data records; a faithful world has none', async () => {
    const w = await World.create({
      flavour: 'tdx',
      seed: 'flaws',
      flaws: ['vfio-no-revoke-on-unbind', 'kvm-mirror-before-firmware', 'tsm-remove-with-mappings'],
    });
    assert.deepEqual(w.h.vfio.flaws, ['vfio-no-revoke-on-unbind']);
    assert.deepEqual(w.h.kvm.flaws, ['kvm-mirror-before-firmware']);
    assert.deepEqual(w.pw.p.tsm.flaws, ['tsm-remove-with-mappings']);
    // Snapshots are structured clones of these records: the flaws go with them.
    assert.deepEqual(structuredClone(w.h).kvm.flaws, ['kvm-mirror-before-firmware']);
    const faithful = await World.create({ flavour: 'tdx', seed: 'flaws' });
    assert.equal(faithful.h.vfio.flaws, undefined);
    assert.equal(faithful.h.kvm.flaws, undefined);
    assert.equal(faithful.pw.p.tsm.flaws, undefined);
  });

  for (const f of FILES) {
    const file = path.join(DIR, f);
    const name = path.basename(f, '.yaml') as FlawName;

    it(`${file}: ${name} breaks what the catalogue says, at the step the scenario names`, async () => {
      assert.ok(Object.hasOwn(FLAWS, name), `${f} is named after a flaw of the catalogue`);
      const s = loadScenario(file, CATALOGUE);
      assert.deepEqual(s.world.flaws, [name]);
      const r = await runScenario(s, await scenarioWorld(s, file));
      const problems = r.steps.flatMap((x) => x.problems.map((p) => `${x.index + 1}: ${p}`));
      assert.deepEqual(problems, []);
      const broken = new Set(r.steps.flatMap((x) => x.violations.map((v) => v.invariant)));
      assert.deepEqual([...broken].sort(), [...FLAWS[name].breaks].sort());
    });

    it(`${file} without ${name}: the same steps break no invariant`, async () => {
      const s = loadScenario(file, CATALOGUE);
      const faithful = { ...s, world: { ...s.world, flaws: [] } };
      const r = await runScenario(faithful, await scenarioWorld(faithful, file));
      const broken = r.steps.flatMap((x) =>
        x.violations.map((v) => `${x.index + 1} ${x.step.do}: ${v.invariant} ${v.detail}`),
      );
      assert.deepEqual(broken, []);
    });
  }
});
