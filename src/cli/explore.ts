/**
 * `teeio explore`: its options, help and examples; explore-run.ts runs it, loaded only
 * when it does (the explorer, the world, the schemas and the certificates are not needed for
 * `teeio explore --help`).
 */
import type { Command } from 'commander';
import { about, examples } from './commands.ts';

export interface ExploreCliOptions {
  config?: string;
  flavour: string;
  strategy: string;
  depth?: string;
  steps: string;
  seed: string;
  workers: string;
  shard?: string;
  flaw: string[];
  out: string;
  json?: boolean;
  listFlaws?: boolean;
  compare?: string;
  report?: string;
  html?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('explore')
    .description(about('explore'))
    .addHelpText(
      'after',
      examples(
        ['teeio explore', 'tdx, 2,000 steps of random walks'],
        ['teeio explore --flavour sev --steps 20000 --workers 2'],
        ['teeio explore --strategy dfs --depth 2', 'bounded exhaustive'],
        ['teeio explore --list-flaws'],
        ['teeio explore --flaw vfio-no-revoke-on-unbind', 'a seeded flaw: it must be found'],
        ['teeio explore --compare unbindOrder', 'a design question, both answers'],
        ['teeio explore --shard 1/4 --report s1.json && teeio explore merge s*.json'],
      ),
    )
    .option(
      '--config <file>',
      'a scenario file: its world is explored, its steps are the honest lifecycle',
    )
    .option('--flavour <name>', 'TSM flavour when there is no --config: tdx, sev or cca', 'tdx')
    .option('--strategy <s>', 'random (walks) or dfs (bounded exhaustive)', 'random')
    .option(
      '--depth <n>',
      'random: steps per walk after its start (default 8); dfs: most adversary moves (default 2)',
    )
    .option('--steps <n>', 'steps to spend', '4000')
    .option('--seed <s>', "the explorer's seed (walks and the world's randomness)", 'teeio')
    .option('--workers <n>', 'worker threads', '1')
    .option('--shard <i/n>', 'search only shard i of n (combine with teeio explore merge)')
    .option(
      '--flaw <name>',
      'switch a seeded flaw on (repeatable)',
      (v: string, a: string[]) => [...a, v],
      [],
    )
    .option('--out <dir>', 'where counterexample scenarios are written', 'explore-out')
    .option('--report <file>', 'also write the report as JSON to a file')
    .option('--html <file>', "write the first counterexample's trace as the viewer page")
    .option('--json', 'print the report as JSON')
    .option('--list-flaws', 'list the seeded flaws')
    .option('--compare <switch>', 'run the search under each position of a design switch')
    .action(async (o: ExploreCliOptions) => (await import('./explore-run.ts')).runExplore(o));

  cmd
    .command('merge')
    .argument('<reports...>', 'JSON reports of shards (teeio explore --shard i/n --report FILE)')
    .description('combine the reports of shards run apart')
    .addHelpText(
      'after',
      examples(
        ['teeio explore --shard 1/2 --report s1.json', 'on one machine'],
        ['teeio explore --shard 2/2 --report s2.json', 'on another'],
        ['teeio explore merge s1.json s2.json --json'],
      ),
    )
    .option('--json', 'print the merged report as JSON')
    .action(async (files: string[], opts: { json?: boolean }, sub: Command) => {
      // `--json` after the files may land on the parent `explore`, which has one too.
      const json = opts.json ?? (sub.parent?.opts().json as boolean | undefined);
      (await import('./explore-run.ts')).runMerge(files, { json });
    });
}
