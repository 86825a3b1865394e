/**
 * Every shipped scenario runs and its expectations hold; scenario-file errors name the line
 * and field; `teeio run` exits 0, 1 or 2 as documented; the runner fails a step whose
 * expectation or invariant does not come true.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadScenario, parseScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { CATALOGUE, scenarioWorld } from '../../src/scenario/world.ts';
import { ConfigError } from '../../src/wire/yaml-config.ts';

// Subfolders too: scenarios/flaws/ shows each seeded flaw breaking its invariant.
const SHIPPED = readdirSync('scenarios', { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => path.join('scenarios', f));

describe('shipped scenarios', () => {
  it('there are scenarios for every flavour', () => {
    for (const f of ['tdx', 'sev', 'cca'])
      assert.ok(SHIPPED.includes(`scenarios/coco-vm-${f}.yaml`));
  });
  for (const file of SHIPPED) {
    it(`${file}: every expectation holds`, async () => {
      const s = loadScenario(file, CATALOGUE);
      const world = await scenarioWorld(s, file);
      const r = await runScenario(s, world);
      const problems = r.steps.flatMap((x) =>
        x.problems.map((p) => `${x.index + 1} ${x.step.do}: ${p}`),
      );
      assert.deepEqual(problems, []);
      assert.equal(r.ok, true);
    });
  }
});

const HEAD = 'teeio: teeio-scenario/1\nname: t\nworld:\n  flavour: tdx\n';

function problems(text: string): string {
  try {
    parseScenario(text, 'x.yaml', CATALOGUE);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('accepted');
}

describe('scenario file errors', () => {
  it('scenario files the fuzzer turned a key into a mapping or list of: one line with line and column each', () => {
    const dir = 'test/scenario/fuzz-regressions';
    const inputs = readdirSync(dir).filter((x) => x.endsWith('.bin'));
    assert.ok(inputs.length > 0, dir);
    for (const f of inputs) {
      const m = problems(readFileSync(path.join(dir, f), 'utf8'));
      assert.match(m, /^x\.yaml:\d+:\d+: \(top\): a (mapping|list) as a key/, f);
      for (const line of m.split('\n')) assert.match(line, /^x\.yaml:\d+:\d+: /, `${f}: ${line}`);
    }
  });

  it('a wrong field, an unknown operation, a bad value, an undeclared VM: line and field', () => {
    assert.match(
      problems(`${HEAD}steps:\n  - do: host.tsm/connect\n    expct: {}\n`),
      /x\.yaml:7:\d+: steps\[0\]\.expct: unknown field/,
    );
    assert.match(
      problems(`${HEAD}steps:\n  - do: host.tsm/connct\n`),
      /x\.yaml:6:\d+: steps\[0\]\.do: unknown operation 'host\.tsm\/connct' \(host has: .*host\.tsm\/connect/,
    );
    assert.match(
      problems(`${HEAD}steps:\n  - do: guest.tsm/lock\n    expect: { tdi: LOCKED }\n`),
      /x\.yaml:7:\d+: steps\[0\]\.expect\.tdi:/,
    );
    assert.match(
      problems(`${HEAD}steps:\n  - do: guest.tsm/lock\n    vm: td9\n`),
      /x\.yaml:7:\d+: steps\[0\]\.vm: no VM 'td9'/,
    );
    assert.match(
      problems('teeio: teeio-scenario/1\nname: t\nworld:\n  flavour: arm\nsteps: []\n'),
      /world\.flavour/,
    );
  });
});

describe('the runner', () => {
  it('fails a step whose expectation does not come true, and says what came instead', async () => {
    const s = parseScenario(
      `${HEAD}steps:\n  - do: host.tsm/connect\n    expect: { errno: EBUSY }\n  - do: host.tsm/connect\n    expect: { errno: EBUSY }\n`,
      'x.yaml',
      CATALOGUE,
    );
    const r = await runScenario(s, await scenarioWorld(s, 'x.yaml'));
    assert.equal(r.ok, false);
    assert.match(r.steps[0].problems.join(), /expected a refusal, got ok/);
    assert.deepEqual(r.steps[1].problems, []);
  });
});

describe('teeio run', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/teeio.mjs', 'run', ...args], { encoding: 'utf8' });
  it('exit 0 with every step as expected, the trace written', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'teeio-run-'));
    const r = run('scenarios/coco-vm-tdx.yaml', '--trace', path.join(dir, 't.json'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /guest {2}tsm\/lock .* CONFIG_LOCKED/);
    assert.match(r.stdout, /16\/16 steps as expected/);
  });
  it('exit 1 when an expectation fails, 2 for a bad file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'teeio-run-'));
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, `${HEAD}steps:\n  - do: host.tsm/connect\n    expect: { ok: false }\n`);
    assert.equal(run(bad).status, 1);
    writeFileSync(bad, `${HEAD}steps:\n  - do: nothing.here\n`);
    const r = run(bad);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.yaml:6:\d+: steps\[0\]\.do: unknown operation/);
  });
});
