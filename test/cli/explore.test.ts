/**
 * `teeio explore` from the user's seat: the flaw list, a short search with its JSON report,
 * shards written apart and merged, and bad input named with exit code 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FLAW_NAMES } from '../../src/world/flaws.ts';
import { teeio } from './teeio-child.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'teeio-explore-'));

describe('teeio explore', () => {
  it('--list-flaws lists every seeded flaw with one line each', async () => {
    const r = await teeio(['explore', '--list-flaws']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, FLAW_NAMES.length);
    for (const f of FLAW_NAMES)
      assert.ok(
        lines.some((l) => l.startsWith(f)),
        f,
      );
  });

  it('two shards run apart and merge into one report', async () => {
    const reports: string[] = [];
    for (const shard of ['0/2', '1/2']) {
      const file = path.join(dir, `shard-${shard.replace('/', 'of')}.json`);
      const r = await teeio([
        ...['explore', '--steps', '40', '--depth', '10', '--seed', 'cli', '--shard', shard],
        ...['--out', path.join(dir, 'out'), '--report', file, '--json'],
      ]);
      assert.ok(r.code === 0 || r.code === 1, r.stderr);
      const j = JSON.parse(r.stdout);
      for (const k of ['steps', 'states', 'stepsPerSecond', 'violations']) assert.ok(k in j, k);
      assert.equal(j.steps, 40);
      assert.deepEqual(j.shard, { index: Number(shard[0]), count: 2 });
      reports.push(file);
    }
    const m = await teeio(['explore', 'merge', ...reports, '--json']);
    assert.ok(m.code === 0 || m.code === 1, m.stderr);
    assert.equal(JSON.parse(m.stdout).steps, 80);
  });

  it('names bad input and exits 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--shard', '2/2'], /--shard 2\/2/],
      [['--flaw', 'no-such-flaw'], /--flaw 'no-such-flaw'/],
      [['--strategy', 'bfs'], /--strategy 'bfs'/],
      [['--compare', 'noSwitch'], /--compare 'noSwitch'/],
      [['--steps', '0'], /--steps '0'/],
    ];
    for (const [args, want] of cases) {
      const r = await teeio(['explore', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{');
    const r = await teeio(['explore', 'merge', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.json: not an explore report/);
  });
});
