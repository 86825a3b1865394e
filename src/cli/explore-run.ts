/**
 * `teeio explore`: an untrusted host does anything it can while the honest lifecycle runs,
 * and every invariant of SYSTEM.md section 5 is checked after every step. Prints each
 * invariant broken with its shrunk counterexample (a scenario file `teeio run` replays).
 * Exit code 0 when nothing broke, 1 when something did, 2 for bad input.
 *
 *   teeio explore [--config FILE] [--flavour F] [--strategy random|dfs] [--depth N]
 *                 [--steps N] [--seed S] [--workers N] [--shard i/n] [--flaw NAME]...
 *                 [--out DIR] [--json]
 *   teeio explore --list-flaws
 *   teeio explore --compare SWITCH
 *   teeio explore merge REPORT.json...
 *
 * This file runs them; explore.ts registers the options, so `teeio explore --help` loads
 * none of the explorer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { compareSwitch, switchPositions } from '../scenario/explore/compare.ts';
import type { ExploreConfig, ExploreOptions, ExploreReport } from '../scenario/explore/explore.ts';
import { exploreParallel, mergeReports } from '../scenario/explore/parallel.ts';
import type { SearchProgress } from '../scenario/explore/search.ts';
import { loadScenario, parseScenario } from '../scenario/load.ts';
import { runScenario } from '../scenario/run.ts';
import { CATALOGUE, scenarioWorld } from '../scenario/world.ts';
import { ConfigError } from '../wire/yaml-config.ts';
import { FLAW_NAMES, FLAWS } from '../world/flaws.ts';
import { Trace, traceRecordJson } from '../world/trace.ts';
import type { ExploreCliOptions as Options } from './explore.ts';
import { CliError } from './identity.ts';

const int = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(`${name} '${v}' is not an integer >= ${min}`);
  return n;
};

function shardOf(v: string | undefined): { index: number; count: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m) throw new CliError(`--shard '${v}' is not i/n (e.g. 0/4)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new CliError(`--shard ${v}: need 0 <= i < n`);
  return { index, count };
}

function configOf(o: Options): ExploreConfig {
  for (const f of o.flaw) {
    if (!Object.hasOwn(FLAWS, f)) {
      throw new CliError(`--flaw '${f}' is not a seeded flaw (teeio explore --list-flaws)`);
    }
  }
  if (o.config === undefined) {
    if (!['tdx', 'sev', 'cca'].includes(o.flavour)) {
      throw new CliError(`--flavour '${o.flavour}' is not tdx, sev or cca`);
    }
    return {
      world: { flavour: o.flavour as 'tdx', ...(o.flaw.length ? { flaws: o.flaw } : {}) },
    };
  }
  let s: ReturnType<typeof loadScenario>;
  try {
    s = loadScenario(o.config, CATALOGUE);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
  const flaws = [...new Set([...(s.world.flaws ?? []), ...o.flaw])];
  return {
    world: { ...s.world, ...(flaws.length ? { flaws } : {}) },
    file: o.config,
    // The scenario's steps are the honest lifecycle; what they expect is not the explorer's.
    backbone: s.steps.map(({ do: op, vm, tdi, args }) => ({ do: op, vm, tdi, args })),
  };
}

function optionsOf(o: Options, onProgress?: ExploreOptions['onProgress']): ExploreOptions {
  const strategy = o.strategy;
  if (strategy !== 'random' && strategy !== 'dfs') {
    throw new CliError(`--strategy '${strategy}' is not random or dfs`);
  }
  return {
    strategy,
    depth: int('--depth', o.depth ?? (strategy === 'dfs' ? '2' : '8'), 0),
    steps: int('--steps', o.steps, 1),
    seed: o.seed,
    shard: shardOf(o.shard),
    outDir: o.out,
    onProgress,
  };
}

/** A one-line progress bar on stderr, redrawn in place (only on a terminal). */
function progressBar(): { update: (p: SearchProgress) => void; end: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, end: () => {} };
  return {
    update: (p) => {
      const rate = p.elapsedMs > 0 ? Math.round((p.steps * 1000) / p.elapsedMs) : 0;
      process.stderr.write(
        `\r  steps ${p.steps.toLocaleString('en')}  ${rate.toLocaleString('en')}/s  states ${p.states.toLocaleString('en')}  violations ${p.violations}   `,
      );
    },
    end: () => process.stderr.write('\n'),
  };
}

function printReport(r: ExploreReport): void {
  const flaws = r.flaws.length ? ` with flaws ${r.flaws.join(', ')}` : '';
  console.log(
    `teeio explore: ${r.flavour}${flaws}, ${r.strategy} search, depth ${r.depth}, seed '${r.seed}'${r.shard ? `, shard ${r.shard.index}/${r.shard.count}` : ''}`,
  );
  console.log(
    `  ${r.steps.toLocaleString('en')} steps, ${r.states.toLocaleString('en')} distinct states, ${r.walks} walks, ${Math.round(r.stepsPerSecond).toLocaleString('en')} steps/s`,
  );
  if (r.timing && r.steps > 0) {
    const us = (ms: number) => `${Math.round((ms * 1000) / r.steps).toLocaleString('en')} us`;
    const t = r.timing;
    console.log(
      `  per step: operations ${us(t.operationsMs)}, invariants ${us(t.invariantsMs)}, snapshots ${us(t.snapshotsMs)}, keys ${us(t.keysMs)}`,
    );
  }
  if (r.violations.length === 0) {
    console.log('  no invariant broke');
    return;
  }
  for (const v of r.violations) {
    console.log(`\n  ${v.invariant} ${v.name} broke (${v.component}): ${v.detail}`);
    console.log(`    counterexample: ${v.steps.length} steps (found in ${v.foundSteps})`);
    for (const s of v.steps) {
      console.log(
        `      ${s.do}${s.vm ? ` ${s.vm}` : ''}${s.tdi !== undefined ? ` tdi ${s.tdi}` : ''}${s.args ? ` ${JSON.stringify(s.args)}` : ''}`,
      );
    }
    if (v.file) console.log(`    replay: teeio run ${v.file}`);
  }
}

/** Replays a counterexample with a trace and writes the viewer page of it. */
async function writeCounterexamplePage(
  v: ExploreReport['violations'][number],
  file: string,
): Promise<void> {
  const s = parseScenario(v.scenario, v.file ?? 'counterexample.yaml', CATALOGUE);
  const trace = new Trace();
  await runScenario(s, await scenarioWorld(s, v.file ?? 'counterexample.yaml', trace));
  const { writeViewerPage } = await import('./view.ts');
  const records = trace.records.map((r) => traceRecordJson(r) as Record<string, unknown>);
  await writeViewerPage(records, `teeio explore: ${v.invariant} ${v.name}`, file);
}

function printComparison(c: Awaited<ReturnType<typeof compareSwitch>>): void {
  const ids = [
    ...new Set(c.positions.flatMap((p) => p.report.violations.map((v) => v.invariant))),
  ].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  console.log(`teeio explore --compare ${c.switch}`);
  const w = Math.max(8, ...c.positions.map((p) => p.position.length));
  console.log(
    `  ${'position'.padEnd(w)}  ${'steps'.padStart(7)}  breaks (shortest counterexample)`,
  );
  for (const p of c.positions) {
    const breaks = p.report.violations.map((v) => `${v.invariant} in ${v.steps.length}`).join(', ');
    console.log(
      `  ${p.position.padEnd(w)}  ${String(p.report.steps).padStart(7)}  ${breaks || 'nothing'}`,
    );
  }
  if (ids.length) {
    console.log('\n  counterexamples:');
    for (const p of c.positions) {
      for (const v of p.report.violations)
        console.log(`    ${p.position} ${v.invariant}: teeio run ${v.file}`);
    }
  }
}

/** `teeio explore [options]`. */
export async function runExplore(o: Options): Promise<void> {
  if (o.listFlaws) {
    for (const name of FLAW_NAMES) {
      const f = FLAWS[name];
      if (o.json) continue;
      console.log(
        `${name.padEnd(38)} ${f.component.padEnd(13)} ${f.text} (breaks ${f.breaks.join(', ')})`,
      );
    }
    if (o.json) console.log(JSON.stringify(FLAWS, null, 1));
    return;
  }
  const cfg = configOf(o);
  const bar = o.json ? { update: () => {}, end: () => {} } : progressBar();
  const opts = optionsOf(o, bar.update);
  const workers = int('--workers', o.workers, 1);
  if (o.compare !== undefined) {
    if (!switchPositions()[o.compare]) {
      throw new CliError(
        `--compare '${o.compare}' is not a design switch (${Object.keys(switchPositions()).join(', ')})`,
      );
    }
    const c = await compareSwitch(cfg, o.compare, opts, workers, (p) => {
      if (!o.json) process.stderr.write(`${o.compare} = ${p}\n`);
    });
    bar.end();
    if (o.json) {
      console.log(JSON.stringify(c, null, 1));
      return;
    }
    printComparison(c);
    process.exitCode = c.positions.some((p) => p.report.violations.length) ? 1 : 0;
    return;
  }
  const report = await exploreParallel(cfg, opts, workers);
  bar.end();
  if (o.report) writeFileSync(o.report, `${JSON.stringify(report, null, 1)}\n`);
  if (o.html && report.violations[0]) await writeCounterexamplePage(report.violations[0], o.html);
  if (o.json) console.log(JSON.stringify(report, null, 1));
  else printReport(report);
  process.exitCode = report.violations.length ? 1 : 0;
}

/** `teeio explore merge REPORT...`. */
export function runMerge(files: string[], o: { json?: boolean }): void {
  const reports = files.map((f) => {
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as ExploreReport;
    } catch (e) {
      throw new CliError(`${f}: not an explore report (${(e as Error).message})`);
    }
  });
  let merged: ExploreReport;
  try {
    merged = mergeReports(reports);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (o.json) console.log(JSON.stringify(merged, null, 1));
  else printReport(merged);
  process.exitCode = merged.violations.length ? 1 : 0;
}
