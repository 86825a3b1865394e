/**
 * Exploring on several worker threads, and combining shards. Worker k of W, in shard i of n,
 * searches shard i*W+k of n*W: walk (or split node) j is done by exactly one worker on one
 * machine, so the union over every shard and worker is the search one process would make,
 * whatever the split. Counterexamples are shrunk once, by the parent.
 */
import { Worker } from 'node:worker_threads';
import { keptCrypto } from '../../world/kept.ts';
import {
  counterexamples,
  type ExploreConfig,
  type ExploreOptions,
  type ExploreReport,
  explore,
  exploreStart,
} from './explore.ts';
import type { Found, SearchProgress, SearchStart } from './search.ts';
import { noTiming, type StepTiming } from './stepper.ts';
import type { WorkerJob, WorkerMessage } from './worker.ts';
import { bundledWorker } from './worker-bundle.ts';

/**
 * The worker's module. Built (dist/), it is worker.js beside this file. From the TypeScript
 * sources, worker.ts bundled into one file (worker-bundle.ts), or else worker-entry.mjs,
 * which registers tsx first (a worker thread starts without the parent's module hooks).
 */
async function workerModule(): Promise<{ url: URL; execArgv?: string[] }> {
  if (!import.meta.url.endsWith('.ts')) return { url: new URL('./worker.js', import.meta.url) };
  const bundle = await bundledWorker(new URL('./worker.ts', import.meta.url));
  // The bundle needs no loader: the thread does not take the parent's (--import tsx).
  if (bundle) return { url: bundle, execArgv: [] };
  return { url: new URL('./worker-entry.mjs', import.meta.url) };
}

/**
 * Starts a worker thread; its job is sent later (`send`), once the parent has it: the thread
 * loads its modules meanwhile.
 */
function startWorker(
  module: { url: URL; execArgv?: string[] },
  onProgress: (p: Omit<SearchProgress, 'elapsedMs'>) => void,
): {
  send(job: WorkerJob): void;
  stop(): void;
  result: Promise<Awaited<ReturnType<typeof import('./explore.ts').exploreSearch>>>;
} {
  const w = new Worker(module.url, { execArgv: module.execArgv });
  const result = new Promise<Awaited<ReturnType<typeof import('./explore.ts').exploreSearch>>>(
    (resolve, reject) => {
      let settled = false;
      w.on('message', (m: WorkerMessage) => {
        if (m.kind === 'progress') onProgress(m);
        else if (m.kind === 'done') {
          settled = true;
          resolve(m.result);
        } else {
          settled = true;
          reject(new Error(`explore worker failed: ${m.message}`));
        }
      });
      w.on('error', (e) => {
        settled = true;
        reject(e);
      });
      w.on('exit', (code) => {
        if (!settled) {
          reject(new Error(`explore worker exited with code ${code} before it finished`));
        }
      });
    },
  );
  return {
    send: (job) => w.postMessage(job),
    stop: () => void w.terminate(),
    result,
  };
}

/** Per invariant, the shortest of the paths found. */
function shortest(found: readonly Found[]): Found[] {
  const by = new Map<string, Found>();
  for (const f of found) {
    const had = by.get(f.violation.invariant);
    if (!had || had.path.length > f.path.length) by.set(f.violation.invariant, f);
  }
  return [...by.values()].sort((a, b) =>
    a.violation.invariant.localeCompare(b.violation.invariant, 'en', { numeric: true }),
  );
}

/** `explore` on `workers` threads (1: in this thread). */
export async function exploreParallel(
  cfg: ExploreConfig,
  o: ExploreOptions,
  workers: number,
): Promise<ExploreReport> {
  if (workers <= 1) return explore(cfg, o);
  return exploreThreads(cfg, o, workers);
}

/**
 * `explore` on `workers` worker threads, 1 included (the bench compares 1 thread with 2 on
 * the same path: each thread starts cold, without the compiled code and kept signatures a
 * search in this thread inherits from the ones before it).
 */
export async function exploreThreads(
  cfg: ExploreConfig,
  o: ExploreOptions,
  workers: number,
): Promise<ExploreReport> {
  const t0 = performance.now();
  const shard = o.shard ?? { index: 0, count: 1 };
  const live = Array.from({ length: workers }, () => ({ steps: 0, states: 0, violations: 0 }));
  let start: SearchStart | undefined;
  const module = await workerModule();
  const handles = live.map((_, k) =>
    startWorker(module, (p) => {
      live[k] = p;
      o.onProgress?.({
        steps: (start?.steps ?? 0) + live.reduce((n, x) => n + x.steps, 0),
        states: (start?.states ?? 0) + live.reduce((n, x) => n + x.states, 0),
        violations: Math.max(start?.found.length ?? 0, ...live.map((x) => x.violations)),
        elapsedMs: performance.now() - t0,
      });
    }),
  );
  // The world is built and the honest lifecycle stepped once, here, while the workers load;
  // each worker starts from that (snapshots), not from a rebuild and a replay of its own.
  try {
    start = await exploreStart(cfg, o);
  } catch (e) {
    for (const h of handles) h.stop();
    throw e;
  }
  const crypto = keptCrypto();
  const perWorker = Math.ceil(Math.max(0, o.steps - start.steps) / workers);
  for (const [k, h] of handles.entries()) {
    h.send({
      cfg,
      o: {
        strategy: o.strategy,
        depth: o.depth,
        steps: perWorker,
        seed: o.seed,
        actors: o.actors,
        backboneBias: o.backboneBias,
        shard: { index: shard.index * workers + k, count: shard.count * workers },
      },
      start,
      crypto,
    });
  }
  const parts = await Promise.all(handles.map((h) => h.result));
  const report = mergeReports(parts.map((p) => p.report));
  report.steps += start.steps;
  report.states += start.states;
  report.shard = o.shard;
  report.elapsedMs = performance.now() - t0;
  report.stepsPerSecond = (report.steps * 1000) / report.elapsedMs;
  report.violations = await counterexamples(
    cfg,
    shortest([...start.found, ...parts.flatMap((p) => p.found)]),
    o.outDir,
    o.invariants,
  );
  return report;
}

/**
 * Combines the reports of shards run apart (`teeio explore merge`): steps, states and walks
 * add up (states: the sum of each shard's distinct states, an upper bound of the union),
 * time is the longest shard's, and per invariant the shortest counterexample is kept.
 * @throws Error when the reports are of different explorations
 */
export function mergeReports(reports: readonly ExploreReport[]): ExploreReport {
  if (reports.length === 0) throw new Error('no reports to merge');
  const [a] = reports;
  for (const r of reports) {
    for (const k of ['flavour', 'strategy', 'seed', 'depth'] as const) {
      if (r[k] !== a[k]) throw new Error(`reports differ in ${k}: '${a[k]}' and '${r[k]}'`);
    }
    if (r.flaws.join(',') !== a.flaws.join(',')) throw new Error('reports differ in flaws');
  }
  const byInvariant = new Map<string, ExploreReport['violations'][number]>();
  for (const v of reports.flatMap((r) => r.violations)) {
    const had = byInvariant.get(v.invariant);
    if (!had || had.steps.length > v.steps.length) byInvariant.set(v.invariant, v);
  }
  const steps = reports.reduce((n, r) => n + r.steps, 0);
  const elapsedMs = Math.max(...reports.map((r) => r.elapsedMs));
  return {
    ...a,
    shard: undefined,
    steps,
    states: reports.reduce((n, r) => n + r.states, 0),
    walks: reports.reduce((n, r) => n + r.walks, 0),
    elapsedMs,
    stepsPerSecond: elapsedMs > 0 ? (steps * 1000) / elapsedMs : 0,
    timing: sumTiming(reports),
    violations: [...byInvariant.values()].sort((x, y) =>
      x.invariant.localeCompare(y.invariant, 'en', { numeric: true }),
    ),
  };
}

/** The shards' timings added up; absent when any shard's report has none. */
function sumTiming(reports: readonly ExploreReport[]): StepTiming | undefined {
  const out = noTiming();
  for (const r of reports) {
    if (!r.timing) return undefined;
    for (const k of Object.keys(out) as (keyof StepTiming)[]) out[k] += r.timing[k];
  }
  return out;
}
