/**
 * One worker thread of a parallel exploration: searches its shard and posts progress and
 * what it found (paths, not counterexamples: the parent shrinks once).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ExploreConfig, type ExploreOptions, exploreSearch } from './explore.ts';

export interface WorkerJob {
  cfg: ExploreConfig;
  o: Omit<ExploreOptions, 'onProgress' | 'invariants' | 'outDir'>;
}

export type WorkerMessage =
  | { kind: 'progress'; steps: number; states: number; violations: number }
  | { kind: 'done'; result: Awaited<ReturnType<typeof exploreSearch>> }
  | { kind: 'error'; message: string };

const job = workerData as WorkerJob;
const post = (m: WorkerMessage) => parentPort?.postMessage(m);
try {
  const result = await exploreSearch(job.cfg, {
    ...job.o,
    onProgress: (p) => post({ kind: 'progress', ...p }),
  });
  post({ kind: 'done', result });
} catch (e) {
  post({ kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
