/**
 * `npm run bench`: runs every bench/*.bench.ts, prints a table and writes
 * bench/results/latest.json. Optional argument: a substring filter on file names.
 * TEEIO_BENCH_TIME sets the milliseconds per case (default 300).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import type { BenchCase, BenchFigure, BenchRatio } from './harness.ts';

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
const allCases: BenchCase[] = [];
const ratios: BenchRatio[] = [];
const figureSources: Array<() => Promise<BenchFigure[]>> = [];
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !filter || f.includes(filter))
  .sort();

for (const f of files) {
  const mod = (await import(join(here, f))) as {
    cases: BenchCase[];
    ratios?: BenchRatio[];
    figures?: () => Promise<BenchFigure[]>;
  };
  ratios.push(...(mod.ratios ?? []));
  if (mod.figures) figureSources.push(mod.figures);
  allCases.push(...mod.cases);
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
const caseByKey = new Map(allCases.map((c) => [`${c.group}/${c.name}`, c]));

/**
 * A ratio measured side by side: rounds that run the numerator once and the denominator
 * once, alternating which goes first, so both see the same machine load; the ratio is of
 * the two medians. On a shared machine this is far steadier than dividing two means taken
 * at different times (which is also reported).
 */
async function interleaved(a: BenchCase, b: BenchCase): Promise<number> {
  await a.before?.();
  await b.before?.();
  const ta: number[] = [];
  const tb: number[] = [];
  const timeOne = async (c: BenchCase, into: number[]) => {
    const t0 = performance.now();
    await c.fn();
    into.push(performance.now() - t0);
  };
  const deadline = performance.now() + Math.max(3 * time, 1000);
  for (let i = 0; i < 10; i++) {
    await a.fn(); // warm-up
    await b.fn();
  }
  for (let i = 0; performance.now() < deadline || i < 20; i++) {
    if (i % 2) {
      await timeOne(a, ta);
      await timeOne(b, tb);
    } else {
      await timeOne(b, tb);
      await timeOne(a, ta);
    }
  }
  await a.after?.();
  await b.after?.();
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return median(ta) / median(tb);
}

const ratioRows = [];
for (const q of ratios) {
  const a = caseByKey.get(q.numerator);
  const b = caseByKey.get(q.denominator);
  if (!a || !b) continue;
  const sequential = byKey.get(q.numerator)!.meanMs / byKey.get(q.denominator)!.meanMs;
  const v = await interleaved(a, b);
  ratioRows.push({
    ratio: q.name,
    'side by side (median)': Number(v.toFixed(3)),
    'sequential (mean)': Number(sequential.toFixed(3)),
    target: q.target ?? null,
    ok: q.target ? v <= q.target : null,
  });
}
if (ratioRows.length) console.table(ratioRows);

const figureRows = [];
for (const source of figureSources) {
  for (const f of await source()) {
    figureRows.push({
      figure: f.name,
      value: Number(f.value.toPrecision(4)),
      unit: f.unit,
      target: f.target ?? null,
      ok: f.target === undefined ? null : f.value <= f.target,
    });
  }
}
if (figureRows.length) console.table(figureRows);

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'latest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, timeMs: time, rows, ratios: ratioRows, figures: figureRows }, null, 2)}\n`,
);
console.log(`wrote ${join('bench', 'results', 'latest.json')}`);
