/**
 * The `teeio` command: one file per subcommand, each exporting `register(program)`.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ProfileError } from '../device/profiles/index.ts';
import { TransportError } from '../transport/types.ts';
import { WireError } from '../wire/errors.ts';
import { ScenarioError } from '../world/errors.ts';
import { CliError } from './identity.ts';

type Registrar = (program: Command) => void;

/** A failed system call (a file that is not there, a refused connection): not a bug here. */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  const x = e as NodeJS.ErrnoException;
  return e instanceof Error && typeof x.syscall === 'string' && typeof x.errno === 'number';
}

const SUBCOMMANDS: Array<() => Promise<{ register: Registrar }>> = [
  () => import('./demo.ts'),
  () => import('./responder.ts'),
  () => import('./requester.ts'),
  () => import('./device.ts'),
  () => import('./conformance.ts'),
  () => import('./view.ts'),
  () => import('./run.ts'),
  () => import('./explore.ts'),
  () => import('./decode.ts'),
];

/**
 * The errors users cause (bad options, bad bytes, bad files, impossible scenarios,
 * unreachable peers), printed as one line; anything else is a bug and keeps its stack.
 */
export function isUserError(e: unknown): e is Error {
  return (
    e instanceof CliError ||
    e instanceof ScenarioError ||
    e instanceof WireError ||
    e instanceof ProfileError ||
    e instanceof TransportError ||
    isSystemError(e)
  );
}

/** The version of the package this file ships in (package.json two folders up). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (`teeio ... | head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  // Answered before the subcommands load: `teeio --version` starts at once.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    console.log(packageVersion());
    return;
  }
  const program = new Command('teeio')
    .description(
      'Executable model of confidential PCIe device assignment: SPDM, IDE_KM and TDISP with real bytes and cryptography',
    )
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  for (const load of SUBCOMMANDS) (await load()).register(program);
  // User errors name the subcommand they come from: `teeio device: --port x: ...`.
  let prefix = 'teeio';
  program.hook('preAction', (_program, action) => {
    prefix = `teeio ${action.name()}`;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    // One line for the errors users cause (bad options, bad bytes, bad files, impossible
    // scenarios, unreachable peers); anything else is a bug and keeps its stack.
    if (isUserError(e)) {
      console.error(`${prefix}: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
