/**
 * One worker thread of a parallel exploration: waits for its job (the parent starts the
 * thread first, so loading the modules here overlaps the parent's stepping of the honest
 * lifecycle), searches its shard from the start the parent sent, and posts progress and what
 * it found (paths, not counterexamples: the parent shrinks once).
 */
import { parentPort } from 'node:worker_threads';
import { type KeptCrypto, keepCrypto } from '../../world/kept.ts';
import { type ExploreConfig, type ExploreOptions, exploreSearch } from './explore.ts';
import type { SearchStart } from './search.ts';

export interface WorkerJob {
  cfg: ExploreConfig;
  o: Omit<ExploreOptions, 'onProgress' | 'invariants' | 'outDir'>;
  /** Where the search starts (the root, the lifecycle stepped once), from the parent. */
  start: SearchStart;
  /** The parent's kept signatures and certificate checks. */
  crypto: KeptCrypto;
}

export type WorkerMessage =
  | { kind: 'progress'; steps: number; states: number; violations: number }
  | { kind: 'done'; result: Awaited<ReturnType<typeof exploreSearch>> }
  | { kind: 'error'; message: string };

const post = (m: WorkerMessage) => parentPort?.postMessage(m);
parentPort?.once('message', async (job: WorkerJob) => {
  try {
    keepCrypto(job.crypto);
    const result = await exploreSearch(
      job.cfg,
      { ...job.o, onProgress: (p) => post({ kind: 'progress', ...p }) },
      job.start,
    );
    post({ kind: 'done', result });
  } catch (e) {
    post({ kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
