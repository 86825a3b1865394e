/**
 * `teeio view` and `teeio demo --html` as child processes: the page written from a JSON
 * lines trace (default name, --out, standard input) with the records embedded and their
 * SPDM bytes decoded; --serve on 127.0.0.1 with the URL printed and a clean stop on
 * SIGTERM; `teeio demo --html` with a failing DSM (exit 1, the page written all the same);
 * one-line refusals of a trace that is not one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { collect, startServer, teeio } from './teeio-child.ts';

const tmp = mkdtempSync(join(tmpdir(), 'teeio-view-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const RECORDS = [
  { kind: 'step', title: 'tsm/connect' },
  {
    kind: 'spdm',
    domain: 'tsm',
    direction: 'to-device',
    bytes: '10840000',
    description: { protocol: 'SPDM', name: 'GET_VERSION', detail: '' },
  },
  { kind: 'a-kind-from-tomorrow', actor: 'vmm', op: 'KVM_RUN', result: 'ok', note: '</script>' },
  { kind: 'check', name: 'it held', ok: false, detail: 'no' },
];
const JSONL = `${RECORDS.map((r) => JSON.stringify(r)).join('\n')}\n`;

/** The trace embedded in a page. */
function embedded(html: string): { title: string; records: Record<string, unknown>[] } {
  const m = /<script type="application\/json" id="teeio-trace">(.*?)<\/script>/s.exec(html);
  assert.ok(m, 'the page embeds the trace');
  return JSON.parse(m[1]);
}

describe('teeio view', () => {
  it('writes the page next to the trace, or to --out, or from stdin; self-contained', async () => {
    const trace = join(tmp, 'run.jsonl');
    writeFileSync(trace, JSONL);
    const out = join(tmp, 'out.html');
    const piped = join(tmp, 'piped.html');
    const stdin = spawn(process.execPath, [resolve('bin/teeio.mjs'), 'view', '-', '--out', piped]);
    stdin.stdin.end(JSONL);
    const [plain, withOut, fromStdin] = await Promise.all([
      teeio(['view', trace]),
      teeio(['view', trace, '--out', out]),
      collect(stdin),
    ]);
    for (const r of [plain, withOut, fromStdin]) assert.equal(r.code, 0, r.stderr);
    assert.equal(plain.stdout, `teeio view: wrote ${join(tmp, 'run.html')} (4 records)\n`);
    assert.match(withOut.stdout, /wrote .*out\.html \(4 records\)/);
    const html = readFileSync(out, 'utf8');
    const data = embedded(html);
    assert.equal(data.title, 'run.jsonl');
    assert.equal(data.records.length, 4);
    assert.deepEqual(data.records[1].fields, { version: 0x10, code: 0x84 });
    assert.equal(data.records[2].note, '</script>', 'record text cannot close the element');
    // Self-contained: nothing loaded from elsewhere.
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\//);
    assert.equal(readFileSync(join(tmp, 'run.html'), 'utf8'), html);
    assert.equal(embedded(readFileSync(piped, 'utf8')).records.length, 4);
  });

  it('serves the page on 127.0.0.1, prints the URL, stops on SIGTERM', async () => {
    const trace = join(tmp, 'served.jsonl');
    writeFileSync(trace, JSONL);
    const { child, done, banner } = await startServer('view', ['--serve', trace]);
    try {
      const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(banner)?.[1];
      assert.ok(url, banner);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(embedded(await page.text()).records.length, 4);
      assert.equal((await fetch(`${url}other`)).status, 404);
    } finally {
      child.kill('SIGTERM');
    }
    const end = await done;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /closed \(SIGTERM\)/);
  });

  it('refuses a file that is not a trace, and bad options, with one line and exit code 2', async () => {
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify(RECORDS[0])}\nnot json\n`);
    const [notJson, missing, port, both] = await Promise.all([
      teeio(['view', bad]),
      teeio(['view', join(tmp, 'missing.jsonl')]),
      teeio(['view', '--serve', '--port', 'x', bad]),
      teeio(['view', '--serve', '--out', 'x.html', bad]),
    ]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /^teeio view: .*bad\.jsonl: line 2: not JSON/);
    assert.equal(notJson.stderr.trim().split('\n').length, 1);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^teeio view: ENOENT/);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /--port x: not a port number/);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--serve and --out: choose one/);
  });
});

describe('teeio demo --html', () => {
  it('writes the page of the run, failed checks included, with the exit code of the run', async () => {
    const out = join(tmp, 'demo.html');
    const r = await teeio([
      'demo',
      '--behaviour',
      'spdm-emu',
      '--seed',
      'html',
      '--quiet',
      '--html',
      out,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(existsSync(out));
    const data = embedded(readFileSync(out, 'utf8'));
    assert.match(data.title, /spdm-emu/);
    const failed = data.records.filter((x) => x.kind === 'check' && x.ok === false);
    assert.deepEqual(
      failed.map((x) => x.name),
      ['TDI is ERROR after the trigger', 'a TDI in ERROR takes no T=1 traffic'],
    );
    assert.ok(data.records.some((x) => x.kind === 'spdm' && x.fields !== undefined));
  });
});
