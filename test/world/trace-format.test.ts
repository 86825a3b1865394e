/**
 * The trace format teeio-trace/1 (docs/trace.md): what `teeio run --trace`, `teeio demo
 * --trace` and `teeio demo --json` write satisfies the documented shape (the schema in
 * src/world/trace-schema.ts), the page documents every record kind the schema knows, the
 * VMM's relay and the guest's refusal show in the trace, and a reader refuses a file of
 * another format while keeping records of kinds it does not know.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseTraceText, TRACE_FORMAT, TraceFileError } from '../../src/world/trace-file.ts';
import { RECORD_KINDS, recordSchema, traceFileSchema } from '../../src/world/trace-schema.ts';

const teeio = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/teeio.mjs', ...args], { encoding: 'utf8' });
const tmp = () => mkdtempSync(path.join(tmpdir(), 'teeio-trace-'));

/** The schema's complaints about `json`, one line each (empty: it conforms). */
function problems(json: unknown): string[] {
  const r = traceFileSchema.safeParse(json);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('teeio-trace/1', () => {
  it('teeio run --trace: the versioned file, every record of a documented shape', () => {
    const out = path.join(tmp(), 't.json');
    const scenario = 'scenarios/flaws/vmm-rewrite-unnoticed.yaml';
    const r = teeio('run', scenario, '--trace', out);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(json.format, TRACE_FORMAT);
    assert.equal(json.source, `teeio run ${scenario}`);
    assert.deepEqual(problems(json), []);
    const kinds = new Set(json.records.map((x: { kind: string }) => x.kind));
    for (const k of ['step', 'uapi', 'abi', 'guest', 'dsm', 'check', 'violation']) {
      assert.ok(kinds.has(k), `a ${k} record`);
    }
    // The VMM's rewrite, the guest's verdict on it and the invariant it broke, in order.
    const at = (pred: (x: Record<string, unknown>) => boolean) =>
      json.records.findIndex((x: Record<string, unknown>) => pred(x));
    const event = (x: Record<string, unknown>) => (x.event ?? {}) as Record<string, unknown>;
    const rewrite = at(
      (x) =>
        x.kind === 'uapi' &&
        event(x).op === 'KVM_EXIT_HYPERCALL' &&
        (event(x).args as Record<string, unknown>).relay === 'rewritten',
    );
    const verify = at((x) => x.kind === 'guest' && event(x).op === 'attest/verify');
    const broke = at((x) => x.kind === 'violation' && x.invariant === 'I12');
    assert.ok(rewrite >= 0 && verify > rewrite && broke > verify, `${rewrite} ${verify} ${broke}`);
    assert.equal(event(json.records[verify]).vm, 'vm1');
  });

  it('teeio demo --trace and --json: the same format, the JSON lines under a header', () => {
    const out = path.join(tmp(), 'd.json');
    const r = teeio('demo', '--seed', 'trace format', '--quiet', '--trace', out);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(problems(json), []);
    assert.match(json.source, /^teeio demo --flavour tdx --profile nic/);
    const kinds = new Set(json.records.map((x: { kind: string }) => x.kind));
    for (const k of ['spdm', 'uapi', 'guest', 'abi', 'platform', 'access'])
      assert.ok(kinds.has(k), k);

    const lines = teeio('demo', '--seed', 'trace format', '--tdisp-only', '--json');
    assert.equal(lines.status, 0, lines.stderr);
    const first = JSON.parse(lines.stdout.split('\n')[0]);
    assert.equal(first.format, TRACE_FORMAT);
    assert.equal(first.kind, undefined, 'a header, not a record');
    const records = parseTraceText(lines.stdout);
    assert.ok(records.length > 10);
    for (const rec of records)
      assert.equal(recordSchema.safeParse(rec).success, true, String(rec.kind));
  });

  it('docs/trace.md documents every record kind the schema knows, with its fields', () => {
    const doc = readFileSync('docs/trace.md', 'utf8');
    assert.match(doc, new RegExp(TRACE_FORMAT.replace('/', '\\/')));
    const rows = new Map(
      [...doc.matchAll(/^\| `([a-z-]+)` \|(.*)$/gm)].map((m) => [m[1], m[2]] as const),
    );
    assert.deepEqual([...rows.keys()].sort(), [...RECORD_KINDS].sort());
    assert.match(rows.get('uapi') ?? '', /`op`.*`args`.*`ok`.*`errno`/);
    assert.match(rows.get('spdm') ?? '', /`bytes`/);
    assert.match(rows.get('guest') ?? '', /`vm`/);
  });

  it('a reader refuses another format, skips the header, keeps unknown kinds', () => {
    assert.throws(
      () => parseTraceText(JSON.stringify({ format: 'pcap/1', records: [] })),
      (e: unknown) =>
        e instanceof TraceFileError && /format 'pcap\/1' is not a teeio trace/.test(e.message),
    );
    const text = `${JSON.stringify({ format: 'teeio-trace/2' })}\n{"kind":"step","title":"x"}\n{"kind":"newer","x":1}\n`;
    assert.deepEqual(
      parseTraceText(text).map((r) => r.kind),
      ['step', 'newer'],
    );
    // The schema of this version: an unknown kind is not teeio-trace/1.
    assert.notDeepEqual(problems({ format: TRACE_FORMAT, records: [{ kind: 'newer' }] }), []);
  });
});
