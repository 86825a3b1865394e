/**
 * `teeio run FILE.yaml [--trace out.json] [--json]`: runs a scenario file (docs/scenarios.md)
 * and prints each step as it goes: actor and operation, result, the TDI's state, and the
 * invariants checked. Exit code 0 when every expectation held, 1 when one did not, 2 for a
 * bad file.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { loadScenario } from '../scenario/load.ts';
import type { runScenario, StepReport } from '../scenario/run.ts';
import type { scenarioWorld } from '../scenario/world.ts';
import { addCaptureOptions, type CaptureCliOptions } from './capture.ts';
import { about, examples } from './commands.ts';

// The scenario runner and the world (zod, yaml, @peculiar/x509) load when a file runs, not
// for `teeio run --help`.

interface RunOptions extends CaptureCliOptions {
  trace?: string;
  html?: string;
  json?: boolean;
}

/** One step as a table row: number, verdict, actor, operation (and VM), result, TDI state. */
export function stepLine(r: StepReport): string {
  const [actor, op] = r.step.do.split(/\.(.*)/s);
  const result = r.result.ok ? 'ok' : `${r.result.errno ?? 'failed'}`;
  const mark = r.problems.length ? 'FAIL' : 'ok  ';
  const vm = r.step.vm ? ` ${r.step.vm}` : '';
  return `${String(r.index + 1).padStart(3)}  ${mark}  ${actor.padEnd(6)} ${`${op}${vm}`.padEnd(26)} ${result.padEnd(12)} ${r.tdiState ?? ''}`;
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .argument('<file>', 'scenario file (YAML, docs/scenarios.md)')
    .description(about('run'))
    .addHelpText(
      'after',
      examples(
        ['teeio run scenarios/coco-vm-tdx.yaml'],
        ['teeio run scenarios/coco-vm-sev.yaml --json', 'the report as JSON'],
        ['teeio run my.yaml --trace out.json --html out.html'],
      ),
    )
    .option('--trace <file>', 'write the full trace as JSON (docs/trace.md, teeio-trace/1)')
    .option('--html <file>', 'also write the trace as the viewer page (see teeio view)')
    .option('--json', 'print the report as JSON');
  addCaptureOptions(cmd);
  cmd.action(async (file: string, o: RunOptions) => {
    const [
      { loadScenario },
      { runScenario },
      { CATALOGUE, scenarioWorld },
      { ConfigError },
      { INVARIANTS },
      { Trace, traceRecordJson },
      { traceFileJson },
      { openCapture },
      { CliError },
    ] = await Promise.all([
      import('../scenario/load.ts'),
      import('../scenario/run.ts'),
      import('../scenario/world.ts'),
      import('../wire/yaml-config.ts'),
      import('../world/invariants.ts'),
      import('../world/trace.ts'),
      import('../world/trace-file.ts'),
      import('./capture.ts'),
      import('./identity.ts'),
    ]);
    let scenario: ReturnType<typeof loadScenario>;
    try {
      scenario = loadScenario(file, CATALOGUE);
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(e.message);
      throw e;
    }
    const trace = new Trace();
    // The TSM reaches the device through function 0's DOE mailbox: PCI DOE packets.
    const capture = openCapture(o, 'pci_doe');
    let world: Awaited<ReturnType<typeof scenarioWorld>>;
    let report: Awaited<ReturnType<typeof runScenario>>;
    try {
      world = await scenarioWorld(scenario, file, trace, {
        onWire: capture.tap,
        onSessionSecrets: capture.onSessionSecrets,
      });
      if (!o.json) {
        console.log(`teeio run: ${scenario.name} (${scenario.world.flavour})`);
        if (scenario.description) console.log(`  ${scenario.description.trim()}`);
        console.log('');
      }
      report = await runScenario(scenario, world, (r) => {
        if (o.json) return;
        console.log(stepLine(r));
        if (r.step.note) console.log(`           ${r.step.note}`);
        if (!r.result.ok && r.result.detail) console.log(`           ${r.result.detail}`);
        for (const v of r.violations)
          console.log(`           invariant ${v.invariant} ${v.name}: ${v.detail}`);
        for (const p of r.problems) console.log(`           expected: ${p}`);
      });
    } finally {
      capture.close();
    }
    if (o.trace) {
      const out = traceFileJson(trace.records.map(traceRecordJson), `teeio run ${file}`);
      writeFileSync(o.trace, `${JSON.stringify(out, null, 1)}\n`);
    }
    if (o.html) {
      const { writeViewerPage } = await import('./view.ts');
      const records = trace.records.map((r) => traceRecordJson(r) as Record<string, unknown>);
      await writeViewerPage(records, `teeio run ${file}`, o.html);
    }
    const failed = report.steps.filter((s) => s.problems.length);
    if (o.json) {
      console.log(
        JSON.stringify(
          {
            name: report.name,
            ok: report.ok,
            steps: report.steps.map((s) => ({
              step: s.index + 1,
              do: s.step.do,
              vm: s.step.vm,
              ok: s.result.ok,
              errno: s.result.errno,
              detail: s.result.detail,
              tdi: s.tdiState,
              violations: s.violations,
              problems: s.problems,
            })),
          },
          null,
          1,
        ),
      );
    } else {
      console.log(
        `\n${report.steps.length - failed.length}/${report.steps.length} steps as expected; ${INVARIANTS.length} invariants checked after each step${o.trace ? `; trace in ${o.trace}` : ''}${o.pcap ? `; ${capture.packets} DOE objects in ${o.pcap}` : ''}`,
      );
    }
    process.exitCode = report.ok ? 0 : 1;
  });
}
