/**
 * Which errors are the user's (bad options, bad bytes, bad files, impossible scenarios,
 * unreachable peers) and which are bugs. main.ts loads this only when a command has thrown,
 * so the error classes' modules stay off the path of `teeio --help`.
 */
import { ProfileError } from '../device/profiles/index.ts';
import { TransportError } from '../transport/types.ts';
import { WireError } from '../wire/errors.ts';
import { ScenarioError } from '../world/errors.ts';
import { CliError } from './identity.ts';

/** A failed system call (a file that is not there, a refused connection): not a bug here. */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  const x = e as NodeJS.ErrnoException;
  return e instanceof Error && typeof x.syscall === 'string' && typeof x.errno === 'number';
}

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
