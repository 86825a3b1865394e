/**
 * The `teeio` command: one file per subcommand, each exporting `register(program)`.
 */
import { Command, CommanderError } from 'commander';
import { WireError } from '../wire/errors.ts';

type Registrar = (program: Command) => void;

const SUBCOMMANDS: Array<() => Promise<{ register: Registrar }>> = [
  () => import('./responder.ts'),
  () => import('./requester.ts'),
  () => import('./device.ts'),
];

export async function main(argv: string[]): Promise<void> {
  const program = new Command('teeio')
    .description(
      'Executable model of confidential PCIe device assignment: SPDM, IDE_KM and TDISP with real bytes and cryptography',
    )
    .showHelpAfterError()
    .exitOverride();
  for (const load of SUBCOMMANDS) (await load()).register(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    // One line for the errors users cause (bad bytes, bad files, unreachable peers).
    if (e instanceof WireError || (e instanceof Error && (e as NodeJS.ErrnoException).code)) {
      console.error(`teeio: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}

export { SUBCOMMANDS };
