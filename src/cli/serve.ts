/**
 * What `teeio responder` and `teeio device` share as servers on the spdm-emu socket (DMTF
 * spdm-emu's TCP framing, src/wire/socket.ts): the --port / --host options, a failed bind as
 * a CliError, the --verbose line for each SPDM event, and serving until SIGINT / SIGTERM.
 */
import type { Command } from 'commander';
import type { SpdmEvent } from '../spdm/events.ts';
import type { SpdmEmuServer } from '../transport/spdm-emu-server.ts';
import { SOCKET_DEFAULT_PORT } from '../wire/socket.ts';
import { CliError } from './identity.ts';

/** --port and --host (127.0.0.1 unless told otherwise). */
export function addListenOptions(cmd: Command): Command {
  return cmd
    .option('--port <port>', 'TCP port (0 = any free port)', String(SOCKET_DEFAULT_PORT))
    .option('--host <address>', 'address to bind', '127.0.0.1');
}

/**
 * The server `start` opens on host:port.
 * @throws CliError when it cannot listen there.
 */
export function listenOn(
  host: string,
  port: number,
  start: () => Promise<SpdmEmuServer>,
): Promise<SpdmEmuServer> {
  return start().catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`cannot listen on ${host}:${port}: ${e.message}`);
  });
}

/** The --verbose line for an SPDM event, or undefined for the ones not printed. */
export function describeSpdmEvent(e: SpdmEvent): string | undefined {
  const sid =
    'sessionId' in e && e.sessionId !== undefined ? ` [session 0x${e.sessionId.toString(16)}]` : '';
  switch (e.type) {
    case 'message':
      return `#${e.connectionId} ${e.direction === 'in' ? '<' : '>'} ${e.name} ${e.bytes.length} B${sid}`;
    case 'error-response':
      return `#${e.connectionId} ! ERROR ${e.errorName} for 0x${e.requestCode.toString(16)}${sid}`;
    case 'session':
      return `#${e.connectionId} session 0x${e.sessionId.toString(16)} ${e.phase}${e.cause ? ` (${e.cause})` : ''}`;
    case 'application':
      return `#${e.connectionId} ${e.direction === 'in' ? '<' : '>'} ${e.name} ${e.bytes.length} B${sid}${e.dropped ? ` (not answered: ${e.dropped})` : ''}`;
    case 'record-rejected':
      return `#${e.connectionId} record rejected: ${e.reason}${sid}`;
    default:
      return undefined;
  }
}

/**
 * Serves until SIGINT or SIGTERM, then closes the server and prints `closedLine(signal)`.
 * Resolves once closed, so the process exits with code 0.
 */
export function serveUntilSignal(
  server: SpdmEmuServer,
  closedLine: (signal: string) => string,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      server.close().then(() => {
        console.log(closedLine(signal));
        resolve();
      });
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}
