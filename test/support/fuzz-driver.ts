/**
 * Runs one fuzz target (fuzz-targets.ts) for a number of inputs or a time budget: the corpus
 * first as it is, then mutations of it (robust.ts's mix: truncations, bit flips, byte and
 * length-field overwrites, insertions, deletions, random bytes), reproducible from a seed.
 * A contract violation or an exception is a crash, an input that takes longer than the hang
 * limit is a hang; each is reported with its input (and saved by the caller if it wishes).
 */
import { type FuzzTarget, FuzzViolation } from './fuzz-targets.ts';
import { mutateRandom, nextRandom, seedMutations } from './robust.ts';

export interface Finding {
  target: string;
  kind: 'crash' | 'hang';
  mutation: string;
  from: number;
  input: Uint8Array;
  message: string;
}

export interface FuzzStats {
  target: string;
  executions: number;
  ms: number;
  crashes: Finding[];
  hangs: Finding[];
}

export interface FuzzRunOptions {
  seed: number;
  /** Stop after this many inputs... */
  runs?: number;
  /** ...or after this many milliseconds (whichever comes first). */
  budgetMs?: number;
  /** An input slower than this is a hang (default 1000 ms). */
  hangMs?: number;
  /** Stop at the first finding (tests); default false (the fuzz script keeps going). */
  stopAtFirst?: boolean;
  /** Keep at most this many findings per kind (default 20). */
  maxFindings?: number;
}

const HANG = Symbol('hang');

async function withDeadline<T>(p: T | Promise<T>, ms: number): Promise<T | typeof HANG> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<typeof HANG>((resolve) => {
    timer = setTimeout(() => resolve(HANG), ms);
  });
  try {
    return await Promise.race([Promise.resolve(p), hang]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runTarget(t: FuzzTarget, o: FuzzRunOptions): Promise<FuzzStats> {
  seedMutations(o.seed);
  const hangMs = o.hangMs ?? 1000;
  const max = o.maxFindings ?? 20;
  const stats: FuzzStats = { target: t.name, executions: 0, ms: 0, crashes: [], hangs: [] };
  const t0 = performance.now();
  const limit = Error.stackTraceLimit;
  // Expected typed errors are thrown by the thousand; their stacks are never read.
  Error.stackTraceLimit = 0;
  try {
    const runs = o.runs ?? Number.POSITIVE_INFINITY;
    const budget = o.budgetMs ?? Number.POSITIVE_INFINITY;
    for (let i = 0; i < runs && performance.now() - t0 < budget; i++) {
      const from = i < t.corpus.length ? i : nextRandom() % t.corpus.length;
      const { kind, input } =
        i < t.corpus.length
          ? { kind: 'valid', input: t.corpus[from] }
          : mutateRandom(t.corpus[from]);
      const start = performance.now();
      let finding: Finding | undefined;
      try {
        const r = await withDeadline(t.run(input, from), hangMs);
        if (r === HANG) {
          finding = {
            target: t.name,
            kind: 'hang',
            mutation: kind,
            from,
            input,
            message: `no end within ${hangMs} ms`,
          };
        }
      } catch (e) {
        const message =
          e instanceof FuzzViolation
            ? e.message
            : `threw ${(e as Error)?.name}: ${(e as Error)?.message}`;
        finding = { target: t.name, kind: 'crash', mutation: kind, from, input, message };
      }
      if (!finding && performance.now() - start > hangMs) {
        finding = {
          target: t.name,
          kind: 'hang',
          mutation: kind,
          from,
          input,
          message: `took ${Math.round(performance.now() - start)} ms`,
        };
      }
      stats.executions++;
      if (finding) {
        const list = finding.kind === 'crash' ? stats.crashes : stats.hangs;
        if (list.length < max) list.push(finding);
        if (o.stopAtFirst) break;
      }
    }
    if (t.check && !(o.stopAtFirst && (stats.crashes.length || stats.hangs.length))) {
      try {
        await t.check();
      } catch (e) {
        stats.crashes.push({
          target: t.name,
          kind: 'crash',
          mutation: 'after-run check',
          from: -1,
          input: new Uint8Array(),
          message: (e as Error).message,
        });
      }
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  stats.ms = performance.now() - t0;
  return stats;
}

export const hex = (b: Uint8Array, max = 200): string => {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return s.length > max * 2 ? `${s.slice(0, max * 2)}... (${b.length} bytes)` : s;
};
