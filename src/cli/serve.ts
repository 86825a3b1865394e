/**
 * What `teeio responder` and `teeio device` share as servers on the spdm-emu socket (DMTF
 * spdm-emu's TCP framing, src/wire/socket.ts): the --port / --host options, the connection
 * limits (--idle-timeout, --max-connections), a failed bind as a CliError, the --verbose
 * line for each SPDM event, and serving until SIGINT / SIGTERM.
 */
import type { Command } from 'commander';
import type { SpdmEvent } from '../spdm/events.ts';
import type { SpdmEmuServer, SpdmEmuServerOptions } from '../transport/spdm-emu-server.ts';
import { SOCKET_DEFAULT_PORT } from '../wire/socket.ts';
import { CliError } from './identity.ts';

/** --port and --host (127.0.0.1 unless told otherwise). */
export function addListenOptions(cmd: Command): Command {
  return cmd
    .option('--port <port>', 'TCP port (0 = any free port)', String(SOCKET_DEFAULT_PORT))
    .option('--host <address>', 'address to bind', '127.0.0.1');
}

/**
 * Idle connections are closed after this long by default: a silent or half-sent requester
 * must not hold a descriptor for ever. QEMU holds its connection for the VM's lifetime and
 * may be silent longer: run with --idle-timeout 0 behind QEMU.
 */
export const DEFAULT_IDLE_TIMEOUT_S = 300;
/** Connections served at once by default, well under a usual descriptor limit of 1,024. */
export const DEFAULT_MAX_CONNECTIONS = 256;

/** --idle-timeout and --max-connections. */
export function addConnectionLimitOptions(cmd: Command): Command {
  return cmd
    .option(
      '--idle-timeout <seconds>',
      'close a connection that sends nothing for this long (0 = never)',
      String(DEFAULT_IDLE_TIMEOUT_S),
    )
    .option(
      '--max-connections <n>',
      'connections served at once; one more is closed with a log line',
      String(DEFAULT_MAX_CONNECTIONS),
    );
}

export interface ConnectionLimitOptions {
  idleTimeout: string;
  maxConnections: string;
}

/**
 * The server options of --idle-timeout and --max-connections; a refused connection prints
 * a line naming the cap (whether or not --verbose).
 * @throws CliError when either is not a number in range.
 */
export function connectionLimits(
  o: ConnectionLimitOptions,
): Pick<SpdmEmuServerOptions, 'idleTimeoutMs' | 'maxConnections' | 'onRefused'> {
  const idle = Number(o.idleTimeout);
  if (!/^\d+(\.\d+)?$/.test(o.idleTimeout) || !(idle <= 86_400)) {
    throw new CliError(`--idle-timeout: "${o.idleTimeout}" is not 0..86400 seconds`);
  }
  const max = Number(o.maxConnections);
  if (!/^\d+$/.test(o.maxConnections) || max < 1 || max > 1_000_000) {
    throw new CliError(`--max-connections: "${o.maxConnections}" is not 1..1000000`);
  }
  return {
    ...(idle > 0 ? { idleTimeoutMs: Math.round(idle * 1000) } : {}),
    maxConnections: max,
    onRefused: (remote, open) =>
      console.log(
        `refused a connection from ${remote}: ${open} connections open, the --max-connections cap is ${max}`,
      ),
  };
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

/** How long connections get to finish the frame in hand and close after a signal. */
export const SHUTDOWN_GRACE_MS = 2000;

/**
 * Serves until SIGINT or SIGTERM, then closes the server gracefully (each connection
 * answers the frame in hand and is ended with a FIN, so its sessions end and the DSM drops
 * what they held; connections still open after SHUTDOWN_GRACE_MS are destroyed), runs
 * `flush` (files being written) and prints `closedLine(signal)`. Resolves once closed, so
 * the process exits with code 0. A second signal destroys what is left at once.
 */
export function serveUntilSignal(
  server: SpdmEmuServer,
  closedLine: (signal: string) => string,
  flush: () => Promise<void> | void = () => undefined,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal: no more grace.
        void server.close(0);
        return;
      }
      stopping = true;
      server
        .close(SHUTDOWN_GRACE_MS)
        .then(() => flush())
        .then(() => {
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
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
