/**
 * The faithful model, explored with the search and budget every seeded flaw is found within
 * (explore-flaws.test.ts: depth-first, one adversary move deep), and with random walks of
 * eight steps, breaks no invariant, on every flavour.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explore } from '../../src/scenario/explore/explore.ts';
import { BUDGET, FLAW_BUDGET } from './explore-budget.ts';

const SEARCHES = [
  { strategy: 'dfs' as const, depth: 1, steps: FLAW_BUDGET, seed: 'flaws' },
  { strategy: 'random' as const, depth: 8, steps: BUDGET, seed: 'flaws' },
];

describe('teeio explore on the faithful model', () => {
  for (const flavour of ['tdx', 'sev', 'cca'] as const) {
    for (const o of SEARCHES) {
      it(`${flavour}: nothing breaks within ${o.steps} steps (${o.strategy}, depth ${o.depth})`, async () => {
        const r = await explore({ world: { flavour } }, o);
        assert.deepEqual(
          r.violations.map((v) => `${v.invariant} ${v.detail}\n${v.scenario}`),
          [],
        );
      });
    }
  }
});
