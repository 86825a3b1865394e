/**
 * `npm run bench`: runs every bench/*.bench.ts, prints a table and writes
 * bench/results/latest.json. Optional argument: a substring filter on file names.
 * TEEIO_BENCH_TIME sets the milliseconds per case (default 300).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import type { BenchCase, BenchRatio } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const time = Number(process.env.TEEIO_BENCH_TIME ?? 300);

interface Row {
  group: string;
  name: string;
  opsPerSec: number;
  itemsPerSec: number;
  meanMs: number;
  p99Ms: number;
  samples: number;
}

const rows: Row[] = [];
const ratios: BenchRatio[] = [];
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !filter || f.includes(filter))
  .sort();

for (const f of files) {
  const mod = (await import(join(here, f))) as { cases: BenchCase[]; ratios?: BenchRatio[] };
  ratios.push(...(mod.ratios ?? []));
  for (const c of mod.cases) {
    await c.before?.();
    const bench = new Bench({ time, warmupTime: Math.min(100, time / 3) });
    bench.add(`${c.group}/${c.name}`, c.fn);
    await bench.run();
    await c.after?.();
    const t = bench.tasks[0];
    const r = t.result as unknown as {
      state?: string;
      error?: unknown;
      latency?: { mean: number; p99: number; samples?: unknown[]; samplesCount?: number };
      throughput?: { mean: number };
    };
    if (r?.error || r?.state === 'errored') throw r.error ?? new Error(`${c.name} failed`);
    const meanMs = r.latency?.mean ?? Number.NaN;
    const opsPerSec = 1000 / meanMs;
    rows.push({
      group: c.group,
      name: c.name,
      opsPerSec,
      itemsPerSec: opsPerSec * (c.items ?? 1),
      meanMs,
      p99Ms: r.latency?.p99 ?? Number.NaN,
      samples: r.latency?.samplesCount ?? r.latency?.samples?.length ?? 0,
    });
  }
}

const fmt = (n: number) =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3).replace(/\.?0+$/, '');
console.table(
  rows.map((r) => ({
    case: `${r.group}/${r.name}`,
    'ops/s': fmt(r.opsPerSec),
    'items/s': fmt(r.itemsPerSec),
    'mean ms': r.meanMs.toFixed(4),
    'p99 ms': r.p99Ms.toFixed(4),
    samples: r.samples,
  })),
);

const byKey = new Map(rows.map((r) => [`${r.group}/${r.name}`, r]));
const ratioRows = ratios
  .filter((q) => byKey.has(q.numerator) && byKey.has(q.denominator))
  .map((q) => {
    const v = byKey.get(q.numerator)!.meanMs / byKey.get(q.denominator)!.meanMs;
    return {
      ratio: q.name,
      value: Number(v.toFixed(3)),
      target: q.target ?? null,
      ok: q.target ? v <= q.target : null,
    };
  });
if (ratioRows.length) console.table(ratioRows);

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'latest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, timeMs: time, rows, ratios: ratioRows }, null, 2)}\n`,
);
console.log(`wrote ${join('bench', 'results', 'latest.json')}`);
