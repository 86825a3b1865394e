/**
 * The explorer's speed (issue 12): steps and distinct states per second of a random search
 * on the faithful tdx world, on one core, and the speed-up of 2 worker threads over 1 for the
 * same number of steps, measured side by side in one run. Targets: 20,000 steps/s per core
 * (as microseconds per step: at most 50) and 2 workers at least 1.8x one (as the time ratio
 * 2 workers / 1: at most 0.56).
 *
 * TEEIO_EXPLORE_STEPS (default 3000) sets the steps per measurement.
 */
import { exploreSearch } from '../src/scenario/explore/explore.ts';
import { exploreParallel } from '../src/scenario/explore/parallel.ts';
import type { BenchCase, BenchFigure } from './harness.ts';

const STEPS = Number(process.env.TEEIO_EXPLORE_STEPS ?? 3000);
const cfg = { world: { flavour: 'tdx' as const, seed: 'bench' } };
const o = { strategy: 'random' as const, depth: 40, steps: STEPS, seed: 'bench' };

export const cases: BenchCase[] = [];

export async function figures(): Promise<BenchFigure[]> {
  const one = await exploreSearch(cfg, o);
  const t0 = performance.now();
  const two = await exploreParallel(cfg, o, 2);
  const twoMs = performance.now() - t0;
  // The 1-worker figure again, through the same path as the 2-worker one (threads, merge).
  const t1 = performance.now();
  await exploreParallel(cfg, o, 1);
  const oneMs = performance.now() - t1;
  return [
    {
      name: 'explore, microseconds per step (1 core, random, tdx)',
      value: (one.report.elapsedMs * 1000) / one.report.steps,
      unit: 'us',
      target: 50,
    },
    { name: 'explore, steps/s (1 core)', value: one.report.stepsPerSecond, unit: 'steps/s' },
    {
      name: 'explore, distinct states/s (1 core)',
      value: (one.report.states * 1000) / one.report.elapsedMs,
      unit: 'states/s',
    },
    {
      name: `explore, time of 2 workers / 1 worker (${two.steps} steps)`,
      value: twoMs / oneMs,
      unit: 'ratio',
      target: 0.56,
    },
  ];
}
