/**
 * The explorer: it finds a break the search can reach (a planted invariant the faithful
 * model breaks on purpose: the host resets a function whose TDI runs), shrinks it to a
 * short counterexample that `teeio run` semantics replay, finds it by bounded exhaustive
 * search too, is deterministic for a seed, and its shards merge.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explore, exploreSearch } from '../../src/scenario/explore/explore.ts';
import { mergeReports } from '../../src/scenario/explore/parallel.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { CATALOGUE, scenarioWorld } from '../../src/scenario/world.ts';
import { INVARIANTS, type Invariant } from '../../src/world/invariants.ts';

/**
 * Planted: "a VFIO_DEVICE_RESET never unbinds a bound TDI" (the faithful model does: with
 * resetWhileBound 'unbind' the kernel stops and unbinds the TDI first).
 */
const PLANTED: Invariant = {
  id: 'I99',
  name: 'planted-reset-never-unbinds',
  text: 'test only',
  check(_after, events) {
    const ops = events.flatMap((e) => (e.kind === 'uapi' ? [(e as { op?: string }).op] : []));
    return ops.includes('VFIO_DEVICE_RESET') && ops.includes('pci_tsm_unbind')
      ? [
          {
            invariant: 'I99',
            name: this.name,
            component: 'host/vfio',
            detail: 'VFIO_DEVICE_RESET unbound a TDI',
          },
        ]
      : [];
  },
};
const invariants = [...INVARIANTS, PLANTED];
const cfg = { world: { flavour: 'tdx' as const, seed: 'explore test' } };

describe('teeio explore', () => {
  it('random walks find the planted break, shrink it, and the counterexample replays', async () => {
    const r = await explore(cfg, {
      strategy: 'random',
      depth: 8,
      steps: 3000,
      seed: 'planted',
      invariants,
    });
    const v = r.violations.find((x) => x.invariant === 'I99');
    assert.ok(v, `found: ${r.violations.map((x) => x.invariant).join(', ') || 'nothing'}`);
    assert.ok(v.steps.length <= v.foundSteps);
    assert.ok(v.steps.length <= 20, `${v.steps.length} steps`);
    // Each issues VFIO_DEVICE_RESET: the world's short name, the uAPI operation, and an FLR
    // of a function VFIO owns (the kernel resets it through VFIO).
    assert.ok(['host.reset', 'host.vfio/reset', 'host.pci/flr'].includes(v.steps.at(-1)?.do ?? ''));
    // Nothing before the bind can be dropped: connect, create, assign, lock, reset.
    assert.equal(v.steps.length, 5, v.steps.map((s) => s.do).join(' '));
    const s = parseScenario(v.scenario, 'counterexample.yaml', CATALOGUE);
    const report = await runScenario(
      s,
      await scenarioWorld(s, 'counterexample.yaml'),
      undefined,
      invariants,
    );
    assert.deepEqual(
      report.steps.flatMap((x) => x.problems),
      [],
    );
    assert.equal(report.steps.at(-1)?.violations[0]?.invariant, 'I99');
    assert.ok(r.steps > 0 && r.states > 0 && r.stepsPerSecond > 0);
  });

  it('bounded exhaustive search finds it with one adversary move', async () => {
    const r = await explore(cfg, {
      strategy: 'dfs',
      depth: 1,
      steps: 6000,
      seed: 'dfs',
      actors: ['host'],
      invariants,
    });
    const v = r.violations.find((x) => x.invariant === 'I99');
    assert.ok(v, 'found by dfs');
    assert.equal(v.steps.length, 5);
  });

  it("the stepper's shortcuts hold: a refusal with no event changed nothing, and going back restores what changed", async () => {
    // checkUnchanged: each refusal with no event is snapshotted anyway and compared, and
    // each restore that left parts alone (the world shared them with the state it was in)
    // is compared whole with the state restored. Random walks restore at each walk's start
    // and at kept outcomes; depth-first search goes back after every move.
    for (const flavour of ['tdx', 'sev', 'cca'] as const) {
      for (const strategy of ['random', 'dfs'] as const) {
        const r = await exploreSearch(
          { world: { flavour, seed: 'unchanged' } },
          {
            strategy,
            depth: strategy === 'dfs' ? 1 : 8,
            steps: 300,
            seed: 'unchanged',
            checkUnchanged: true,
          },
        );
        assert.equal(r.report.steps, 300);
      }
    }
  });

  it('is deterministic for a seed, and shards merge into one report', async () => {
    const o = { strategy: 'random' as const, depth: 12, steps: 120, seed: 'det' };
    const a = await exploreSearch(cfg, o);
    const b = await exploreSearch(cfg, o);
    assert.equal(a.report.steps, b.report.steps);
    assert.equal(a.report.states, b.report.states);
    assert.equal(a.report.walks, b.report.walks);
    const s0 = await exploreSearch(cfg, { ...o, shard: { index: 0, count: 2 } });
    const s1 = await exploreSearch(cfg, { ...o, shard: { index: 1, count: 2 } });
    const m = mergeReports([s0.report, s1.report]);
    assert.equal(m.steps, s0.report.steps + s1.report.steps);
    assert.equal(m.walks, s0.report.walks + s1.report.walks);
    assert.throws(
      () => mergeReports([a.report, { ...s1.report, seed: 'other' }]),
      /differ in seed/,
    );
    // Where the time went: each part within the whole, the shards' parts added up, and a
    // report without the split (an older teeio's) makes the merge's split unknown.
    for (const r of [a.report, s0.report, s1.report]) {
      const t = r.timing;
      assert.ok(t && t.operationsMs > 0 && t.snapshotsMs > 0 && t.keysMs > 0 && t.invariantsMs > 0);
      const parts = t.operationsMs + t.invariantsMs + t.snapshotsMs + t.keysMs;
      assert.ok(parts <= r.elapsedMs, `${parts} ms of parts in ${r.elapsedMs} ms`);
    }
    assert.equal(
      m.timing?.operationsMs,
      s0.report.timing!.operationsMs + s1.report.timing!.operationsMs,
    );
    assert.equal(mergeReports([s0.report, { ...s1.report, timing: undefined }]).timing, undefined);
  });
});
