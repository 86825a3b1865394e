/**
 * `teeio view TRACE`: the trace viewer (web/) as one self-contained HTML page with the
 * trace embedded, written to a file or served on 127.0.0.1. TRACE is what `teeio demo
 * --json` writes (JSON lines), a JSON array of records, or `-` for standard input. The SPDM
 * records' bytes are decoded here (world/trace-decode.ts), so the page shows each wire
 * message's fields next to its hex.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { decodeTraceWire } from '../world/trace-decode.ts';
import { type JsonRecord, parseTraceText, TraceFileError } from '../world/trace-file.ts';
import { about, examples } from './commands.ts';
import { CliError } from './identity.ts';
import { embedTrace, viewerTemplate, writeAtomic } from './viewer-page.ts';

interface ViewOptions {
  out?: string;
  serve?: boolean;
  port: string;
}

/** The viewer page for `records`, built from web/. Decodes the SPDM records' bytes in place. */
export async function viewerPage(records: JsonRecord[], title: string): Promise<string> {
  decodeTraceWire(records);
  return embedTrace(await viewerTemplate(), { title, records });
}

/** Writes the viewer page for `records` to `file`. */
export async function writeViewerPage(
  records: JsonRecord[],
  title: string,
  file: string,
): Promise<void> {
  writeAtomic(file, await viewerPage(records, title));
}

function readTrace(file: string): JsonRecord[] {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  try {
    return parseTraceText(text);
  } catch (e) {
    if (e instanceof TraceFileError) throw new CliError(`${file}: ${e.message}`);
    throw e;
  }
}

export function register(program: Command): void {
  program
    .command('view')
    .description(about('view'))
    .argument(
      '<trace>',
      'trace file: JSON lines as teeio demo --json writes, a JSON array, or - for stdin',
    )
    .option('--out <file>', 'the page to write (default: the trace file with .html)')
    .option('--serve', 'serve the page on 127.0.0.1 instead of writing it, until interrupted')
    .option('--port <n>', 'port for --serve (0: any free port)', '0')
    .addHelpText(
      'after',
      examples(
        ['teeio demo --json > trace.jsonl && teeio view trace.jsonl --out trace.html'],
        ['teeio demo --json | teeio view - --serve', 'prints http://127.0.0.1:PORT/'],
      ),
    )
    .action(async (trace: string, o: ViewOptions) => {
      const port = Number(o.port);
      if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
        throw new CliError(`--port ${o.port}: not a port number`);
      }
      if (o.serve && o.out) throw new CliError('--serve and --out: choose one');
      const records = readTrace(trace);
      const title = trace === '-' ? 'trace' : basename(trace);
      const page = await viewerPage(records, title);
      if (!o.serve) {
        const out =
          o.out ??
          (trace === '-'
            ? 'trace.html'
            : `${trace.slice(0, trace.length - extname(trace).length)}.html`);
        writeAtomic(out, page);
        console.log(`teeio view: wrote ${out} (${records.length} records)`);
        return;
      }
      const server = createServer((req, res) => {
        if (req.method !== 'GET' || (req.url !== '/' && req.url !== '/index.html')) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
      });
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(port, '127.0.0.1', ok);
      });
      const at = server.address();
      const bound = typeof at === 'object' && at ? at.port : port;
      console.log(
        `teeio view: ${title} (${records.length} records) listening on 127.0.0.1:${bound}: http://127.0.0.1:${bound}/`,
      );
      await new Promise<void>((ok) => {
        const stop = (sig: string) => {
          console.log(`teeio view: closed (${sig})`);
          server.close(() => ok());
          server.closeAllConnections();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
