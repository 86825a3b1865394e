/**
 * The explorer's speed (issue 12): steps and distinct states per second of a random search
 * on the faithful tdx world, on one core, and 1 worker against 2 worker threads for the same
 * number of steps, measured side by side in one run (each figure the best of
 * TEEIO_EXPLORE_RUNS runs, default 2, the two alternating so a busy machine weighs on both).
 * Targets: 20,000 steps/s per core (as microseconds per step: at most 50) and 2 workers at
 * least 1.8x one.
 *
 * The worker figures are wall time from the call to the merged report: the threads' start,
 * the parent's world and lifecycle, the search; 1 worker is a worker thread too, so both
 * start as cold (no compiled code, no kept signatures) and only the number of threads
 * differs. The machine's other load counts too: on a shared 2-core machine the ratio says
 * as much about the machine as about the explorer.
 *
 * TEEIO_EXPLORE_STEPS (default 3000) sets the steps per measurement.
 */
import { exploreSearch } from '../src/scenario/explore/explore.ts';
import { exploreThreads } from '../src/scenario/explore/parallel.ts';
import type { BenchCase, BenchFigure } from './harness.ts';

const STEPS = Number(process.env.TEEIO_EXPLORE_STEPS ?? 3000);
const RUNS = Number(process.env.TEEIO_EXPLORE_RUNS ?? 2);
const cfg = { world: { flavour: 'tdx' as const, seed: 'bench' } };
const o = { strategy: 'random' as const, depth: 40, steps: STEPS, seed: 'bench' };

export const cases: BenchCase[] = [];

/** Steps per second of `workers` worker threads, wall time. */
async function rate(workers: number): Promise<number> {
  const t0 = performance.now();
  const r = await exploreThreads(cfg, o, workers);
  return (r.steps * 1000) / (performance.now() - t0);
}

export async function figures(): Promise<BenchFigure[]> {
  const one = await exploreSearch(cfg, o);
  // A first parallel run builds the worker bundle (from the sources; cached after).
  await exploreThreads(cfg, { ...o, steps: 100 }, 2);
  let w1 = 0;
  let w2 = 0;
  for (let i = 0; i < RUNS; i++) {
    w1 = Math.max(w1, await rate(1));
    w2 = Math.max(w2, await rate(2));
  }
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
    { name: `explore, steps/s with 1 worker (${STEPS} steps)`, value: w1, unit: 'steps/s' },
    { name: `explore, steps/s with 2 workers (${STEPS} steps)`, value: w2, unit: 'steps/s' },
    { name: 'explore, speed-up of 2 workers over 1', value: w2 / w1, unit: 'ratio' },
    // The same as a time ratio, lower is better, against the target 1 / 1.8.
    { name: 'explore, time of 2 workers / 1 worker', value: w1 / w2, unit: 'ratio', target: 0.56 },
  ];
}
