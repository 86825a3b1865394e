/**
 * Issue 15, part 1: every entry point that takes peer bytes is a fuzz target, and the list
 * is checked. The exported decoders of src/wire (decode* / parse* / read* functions and the
 * stream parser classes) must each be covered by a target of test/support/fuzz-targets.ts or
 * named as reached through one (REACHED_THROUGH); a new exported decoder without either
 * fails here. So must every request code the responder dispatches and every vendor-defined
 * handler the DSM registers. Then each target runs a short mutation campaign (corpus of a
 * real lifecycle, mutated): no decoder throws anything but WireError, no engine throws, a
 * refusal keeps the state, and a valid exchange afterwards still works. The key log reader,
 * the scenario and policy loaders (only their KeylogError / ConfigError, naming line and
 * field) and the TSM's TDISP / IDE_KM clients on device responses are targets too.
 * TEEIO_FUZZ_RUNS scales the campaign; TEEIO_FUZZ_SEED reproduces one.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { spdmEmu } from '../../src/device/profiles/index.ts';
import { DISPATCH } from '../../src/spdm/responder/dispatch.ts';
import { createTdispDevice } from '../../src/world/tdisp-device.ts';
import { hex, runTarget } from '../support/fuzz-driver.ts';
import { type FuzzTarget, fuzzTargets, REACHED_THROUGH } from '../support/fuzz-targets.ts';

const ENTRY = /^(decode|parse|read)[A-Z]\w*$|Parser$/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
    });
}

/** Every exported function or class of src/wire whose name says it takes bytes apart. */
async function wireEntryPoints(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of tsFiles('src/wire')) {
    const mod = (await import(`../../${f}`)) as Record<string, unknown>;
    for (const [name, v] of Object.entries(mod)) {
      if (typeof v === 'function' && ENTRY.test(name) && !out.has(name)) {
        out.set(name, relative('.', f));
      }
    }
  }
  return out;
}

const RUNS = Number(process.env.TEEIO_FUZZ_RUNS ?? 0);
const SEED = Number(process.env.TEEIO_FUZZ_SEED ?? 0x15);

let targets: Promise<FuzzTarget[]> | undefined;
const all = () => {
  targets ??= fuzzTargets();
  return targets;
};

describe('entry points that take peer bytes', () => {
  it('every exported decoder of src/wire is covered by a fuzz target', async () => {
    const ts = await all();
    const covered = new Set(ts.flatMap((t) => t.covers));
    const entries = await wireEntryPoints();
    const missing = [...entries]
      .filter(([name]) => !covered.has(name) && !Object.hasOwn(REACHED_THROUGH, name))
      .map(([name, file]) => `${name} (${file})`);
    assert.deepEqual(missing, [], 'add a target to test/support/fuzz-targets.ts');
    // And no target claims a decoder that is not there (a rename leaves no stale name).
    const wireCovers = ts.filter((t) => t.name.startsWith('wire/')).flatMap((t) => t.covers);
    const stale = wireCovers.filter((n) => ENTRY.test(n) && !entries.has(n));
    assert.deepEqual(stale, []);
    assert.ok(entries.size >= 40, `${entries.size} entry points found`);
  });

  it('every request code the responder dispatches and every DSM handler is a target', async () => {
    const ts = await all();
    const responder = ts.find((t) => t.name === 'spdm/responder');
    assert.ok(responder);
    for (const code of Object.keys(DISPATCH).map(Number)) {
      assert.ok(
        responder.corpus.some((b) => b[1] === code),
        `no corpus entry for request code 0x${code.toString(16)}`,
      );
    }
    const dsm = ts.find((t) => t.name === 'device/dsm');
    assert.ok(dsm);
    // What a device with every protocol (the spdm-emu profile: IDE, CXL IDE, CXL TSP) registers.
    const dev = await createTdispDevice({ profile: spdmEmu });
    const registered: unknown[] = [];
    dev.dsm.registerVendorHandlers({
      register: (_k: unknown, h: unknown) => registered.push(h),
    } as never);
    const byValue = new Map(Object.entries(dev.dsm).map(([k, v]) => [v as unknown, k]));
    const handlers = registered.map((h) => byValue.get(h) ?? '(anonymous handler)');
    assert.ok(handlers.length >= 4);
    for (const h of handlers) assert.ok(dsm.covers.includes(`Dsm.${h}`), `Dsm.${h} has no target`);
  });

  it('the key log, scenario and policy readers and the TSM clients are targets', async () => {
    const ts = await all();
    for (const [name, entry] of [
      ['spdm/keylog', 'parseKeylog'],
      ['scenario/load', 'parseScenario'],
      ['guest/attest/policy-load', 'parsePolicy'],
      ['platform/tsm', 'TdispClient'],
      ['platform/tsm', 'IdeKmClient'],
    ] as const) {
      const t = ts.find((x) => x.name === name);
      assert.ok(t?.covers.includes(entry), `${name} covers ${entry}`);
    }
    const tsm = ts.find((x) => x.name === 'platform/tsm')!;
    // Both protocols' responses are in its corpus (ProtocolID 0 IDE_KM, 1 TDISP).
    assert.ok(tsm.corpus.some((b) => b[0] === 0) && tsm.corpus.some((b) => b[0] === 1));
  });

  it('each target holds its contract on its corpus and mutations of it', async () => {
    const ts = await all();
    const lines: string[] = [];
    for (const t of ts) {
      assert.ok(t.corpus.length > 0, `${t.name} has an empty corpus`);
      const runs = RUNS || (t.name.startsWith('wire/') ? 3000 : 400);
      const s = await runTarget(t, { seed: SEED, runs, stopAtFirst: true, hangMs: 2000 });
      const f = s.crashes[0] ?? s.hangs[0];
      lines.push(
        `${t.name}: ${t.corpus.length} seeds, ${s.executions} inputs in ${Math.round(s.ms)} ms`,
      );
      assert.equal(
        f,
        undefined,
        f &&
          `${f.target}: ${f.kind} on a ${f.mutation} of corpus[${f.from}]: ${f.message}\n  input ${hex(f.input)}`,
      );
    }
    if (process.env.TEEIO_FUZZ_VERBOSE) console.log(lines.join('\n'));
  });
});
