/**
 * `teeio` (bin/teeio.mjs) as a child process for the CLI tests: a run to completion with its
 * output, and a server (`teeio responder`, `teeio device`) started on a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const BIN = resolve('bin/teeio.mjs');

export interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Everything the child prints, once it has exited. */
export function collect(child: ChildProcess): Promise<Done> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((ok) =>
    child.on('close', (code, signal) => ok({ code, signal, stdout, stderr })),
  );
}

/** Runs `teeio ...args` to completion. */
export const teeio = (args: string[]) => collect(spawn(process.execPath, [BIN, ...args]));

/**
 * Starts `teeio <command> --port 0 ...args`; resolves once it has printed its
 * "listening on 127.0.0.1:<port>" line, with everything printed up to that line.
 */
export async function startServer(command: string, args: string[]) {
  const child = spawn(process.execPath, [BIN, command, '--port', '0', ...args]);
  const done = collect(child);
  let out = '';
  const banner = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no listening line: ${out}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (/listening on .*\n/.test(out)) {
        clearTimeout(timer);
        ok(out);
      }
    });
    child.on('close', () => fail(new Error(`${command} exited: ${out}`)));
  });
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(banner)![1]);
  return { child, done, port, banner };
}
