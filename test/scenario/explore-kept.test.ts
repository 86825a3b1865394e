/**
 * The explorer's kept outcomes change nothing it reports. Which outcomes the stepper keeps is
 * a timing decision (steps slower than 1 ms): a busy machine keeps more. The state key once
 * was V8's serialisation, which writes a number as an integer or a double by how the engine
 * holds it at that moment, so a state restored from a kept outcome could get another key
 * than the same state stepped to, and the count of states depended on the machine's load.
 * Its own file: the engine's number representations settle as a process runs, and the
 * difference showed in a fresh process.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exploreSearch } from '../../src/scenario/explore/explore.ts';

describe("the stepper's kept outcomes", () => {
  for (const flavour of ['tdx', 'cca'] as const) {
    it(`${flavour}: keeping every outcome or none finds the same states and the same breaks`, async () => {
      const c = { world: { flavour, seed: 'det' } };
      const o = { strategy: 'random' as const, depth: 12, steps: 600, seed: 'det' };
      const all = await exploreSearch(c, { ...o, keepAboveMs: -1 });
      const none = await exploreSearch(c, { ...o, keepAboveMs: Number.POSITIVE_INFINITY });
      const gist = (r: typeof all) => ({
        steps: r.report.steps,
        states: r.report.states,
        walks: r.report.walks,
        found: r.found.map((f) => [f.violation.invariant, f.path.length]),
      });
      assert.deepEqual(gist(all), gist(none));
      assert.ok(all.report.states > 50, `${all.report.states} states`);
    });
  }
});
