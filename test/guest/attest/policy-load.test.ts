import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { generateDeviceIdentity } from '../../../src/crypto/cert-build.ts';
import { seededRandom } from '../../../src/crypto/random.ts';
import { loadPolicy, parsePolicy } from '../../../src/guest/attest/index.ts';
import { ConfigError } from '../../../src/wire/yaml-config.ts';
import { pem, writePolicy } from './evidence-rig.ts';

let root: Uint8Array;
let other: Uint8Array;

before(async () => {
  root = (await generateDeviceIdentity({ rng: seededRandom('policy-root') })).certificates[0];
  other = (await generateDeviceIdentity({ rng: seededRandom('policy-other') })).certificates[0];
});

/** The problems of a policy text, as `line:column path: message`. */
function problems(text: string, baseDir = '/nonexistent'): string[] {
  try {
    parsePolicy(text, 'p.yaml', baseDir);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    for (const line of e.message.split('\n')) assert.match(line, /^p\.yaml:\d+:\d+: /);
    return e.problems.map((p) => `${p.line}:${p.column} ${p.path.join('.')}: ${p.message}`);
  }
  assert.fail('expected a ConfigError');
}

const minimal = `trustAnchors:
  - file: root.pem
`;

describe('parsePolicy / loadPolicy', () => {
  it('reads a DER or PEM anchor file relative to the policy and inline PEM, with defaults', () => {
    const file = writePolicy(
      `trustAnchors:\n  - file: root.pem\n  - file: other.der\n  - pem: |\n${pem(other)
        .split('\n')
        .map((l) => `      ${l}`)
        .join('\n')}\n`,
      root,
    );
    writeFileSync(path.join(path.dirname(file), 'other.der'), other);
    const p = loadPolicy(file);
    assert.deepEqual(p.trustAnchors, [root, other, other]);
    assert.deepEqual(p.states, ['CONFIG_LOCKED']);
    assert.deepEqual(p.measurements, { reference: [], allowUnlisted: true });
    assert.equal(p.report.allowHoles, false);
    assert.equal(p.report.refuseFirmwareUpdate, true);
  });

  it('turns a reference digest into bytes with its hash', () => {
    const file = writePolicy(
      `${minimal}measurements:\n  reference:\n    - index: 3\n      hash: sha256\n      digest: "${'0a'.repeat(32)}"\n`,
      root,
    );
    assert.deepEqual(loadPolicy(file).measurements.reference, [
      { index: 3, digest: { hash: 'sha256', value: new Uint8Array(32).fill(10) } },
    ]);
  });

  it('names the line and path of an unknown key', () => {
    const text = `${minimal}report:\n  lockFlags:\n    required: [LOCK_MSIX]\n  alowHoles: true\n`;
    assert.deepEqual(problems(text), ['6:3 report.alowHoles: unknown field']);
  });

  it('names the line and path of a field of the wrong type and of a bad value', () => {
    const text = `${minimal}states: CONFIG_LOCKED
report:
  lockFlags:
    required: [NO_FW_UPDATE, LOCK_MISX]
measurements:
  reference:
    - index: 1
      hash: sha384
      digest: "abcd"
`;
    const got = problems(text).sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
    assert.equal(got.length, 3, got.join('\n'));
    assert.match(got[0], /^3:9 states: .*expected array/);
    assert.match(got[1], /^6:30 report\.lockFlags\.required\.1: .*expected one of "NO_FW_UPDATE"/);
    assert.equal(got[2], '11:15 measurements.reference.0.digest: 2 bytes, sha384 digests are 48');
  });

  it('names a missing field at its parent, and a YAML syntax error at its line', () => {
    assert.match(problems('leaf: {}\n')[0], /^1:1 trustAnchors: /);
    assert.match(problems(`${minimal}leaf: [\n`)[0], /^4:1 : Flow sequence/);
  });

  it('policies the fuzzer turned a key into a mapping or list of: named at the key (fuzz findings)', () => {
    const dir = 'test/guest/attest/fuzz-regressions';
    const inputs = readdirSync(dir).filter((x) => x.endsWith('.bin'));
    assert.ok(inputs.length > 0, dir);
    for (const f of inputs) {
      const p = problems(readFileSync(path.join(dir, f), 'utf8'));
      assert.match(p.join('\n'), /^\d+:\d+ : a (mapping|list) as a key/, f);
    }
  });

  it('names the anchor that cannot be read or does not parse', () => {
    const file = writePolicy(`${minimal}  - pem: "-----BEGIN CERTIFICATE-----"\n`, root);
    assert.throws(
      () => loadPolicy(path.join(path.dirname(file), 'policy.yaml')),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.length === 1 &&
        e.problems[0].line === 3 &&
        e.problems[0].path.join('.') === 'trustAnchors.1',
    );
    const missing = problems(minimal, '/nonexistent');
    assert.match(missing[0], /^2:5 trustAnchors\.0: ENOENT/);
  });
});

describe('docs/policy.md', () => {
  it('its example loads', () => {
    const doc = readFileSync(new URL('../../../docs/policy.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example);
    const file = writePolicy(example, root);
    writeFileSync(path.join(path.dirname(file), 'vendor-root.pem'), pem(root));
    const p = loadPolicy(file);
    assert.deepEqual(p.trustAnchors, [root]);
    assert.deepEqual(
      p.measurements.reference.map((r) => r.index),
      [1, 5],
    );
    assert.deepEqual(p.report.lockFlags, {
      required: ['NO_FW_UPDATE', 'LOCK_MSIX'],
      forbidden: ['BIND_P2P'],
    });
    assert.equal(p.report.reference.msixMessageControl, 0x8007);
  });
});
