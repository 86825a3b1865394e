/**
 * The `teeio` command: one file per subcommand, each exporting `register(program)`.
 *
 * Start-up: `teeio NAME ...` loads NAME's module only, and `teeio --help` / `--version`
 * load none (the top-level help is drawn from src/cli/commands.ts). Exit codes: 0 ok, 1 a
 * check, expectation or invariant failed, 2 a usage or input error.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { SUBCOMMANDS, type Subcommand } from './commands.ts';

/** The version of the package this file ships in (package.json two folders up). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/**
 * The subcommand argv names (`teeio NAME ...`, `teeio help NAME`), if it names one: the
 * first argument that is not an option.
 */
export function namedSubcommand(argv: readonly string[]): Subcommand | undefined {
  const args = argv.slice(2).filter((a) => !a.startsWith('-'));
  const name = args[0] === 'help' ? args[1] : args[0];
  return SUBCOMMANDS.find((s) => s.name === name);
}

/** The program without subcommands: name, description, version, error handling. */
export function baseProgram(): Command {
  return new Command('teeio')
    .description(
      'Executable model of confidential PCIe device assignment: SPDM, IDE_KM and TDISP with real bytes and cryptography',
    )
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  teeio demo                        the CoCo VM lifecycle, then the TSM <-> DSM conversation
  teeio demo --json > trace.jsonl   the trace as JSON lines (teeio view makes a page of it)
  teeio run scenarios/coco-vm-tdx.yaml
  teeio COMMAND --help              a command's options and examples

Exit codes: 0 ok, 1 a check, expectation or invariant failed, 2 a usage or input error.`,
    );
}

/**
 * Every subcommand as a name and a description only, for the top-level help and for
 * commander's "unknown command" suggestions; no subcommand module is loaded.
 */
export function listingProgram(): Command {
  const program = baseProgram();
  const terms = new Map(SUBCOMMANDS.map((s) => [s.name, s.term]));
  program.configureHelp({
    subcommandTerm: (c) => terms.get(c.name()) ?? c.name(),
  });
  for (const s of SUBCOMMANDS) program.command(s.name).description(s.description);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (`teeio ... | head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  // Answered before commander loads: `teeio --version` starts at once.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    console.log(packageVersion());
    return;
  }
  const named = namedSubcommand(argv);
  let program: Command;
  if (named) {
    program = baseProgram();
    (await named.load()).register(program);
  } else {
    program = listingProgram();
  }
  // User errors name the subcommand they come from: `teeio device: --port x: ...`.
  let prefix = 'teeio';
  program.hook('preAction', (_program, action) => {
    prefix = `teeio ${action.name()}`;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version asked for: 0; a bad option, argument or command: 2.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    // One line for the errors users cause (bad options, bad bytes, bad files, impossible
    // scenarios, unreachable peers); anything else is a bug and keeps its stack.
    const { isUserError } = await import('./user-error.ts');
    if (isUserError(e)) {
      console.error(`${prefix}: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
