/**
 * The faithful model, explored with the budget every seeded flaw is found within
 * (explore-flaws.test.ts), breaks no invariant, on every flavour.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explore } from '../../src/scenario/explore/explore.ts';
import { BUDGET } from './explore-budget.ts';

describe('teeio explore on the faithful model', () => {
  for (const flavour of ['tdx', 'sev', 'cca'] as const) {
    it(`${flavour}: nothing breaks within ${BUDGET} steps`, async () => {
      const r = await explore(
        { world: { flavour } },
        { strategy: 'random', depth: 12, steps: BUDGET, seed: 'flaws' },
      );
      assert.deepEqual(
        r.violations.map((v) => `${v.invariant} ${v.detail}\n${v.scenario}`),
        [],
      );
    });
  }
});
