/**
 * teeio as an npm package: `npm pack` makes the tarball users install, and the command runs
 * from where npm puts it, outside the repository, with no network.
 *
 * What this proves: the tarball holds what the command needs (bin, the TypeScript sources,
 * the shipped scenarios, the viewer's sources, the docs, package.json) and nothing of the
 * development tree (tests, test vectors, benches, examples, node_modules); tsx is a runtime
 * dependency, so bin/teeio.mjs runs the sources from an installed copy; `teeio --version`
 * answers with package.json's version and `teeio demo` runs to completion there.
 *
 * Installing: `npm install -g --prefix TMP --offline` from the tarball when the npm cache
 * holds the dependencies. A cache without them (a machine whose node_modules came from
 * elsewhere) makes npm answer ENOTCACHED, and then the install is laid out the way npm
 * lays out a global one: the tarball unpacked as TMP/lib/node_modules/teeio, its
 * node_modules linked to the repository's, and TMP/bin/teeio a link to its bin.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const repo = resolve('.');
const tmp = mkdtempSync(join(tmpdir(), 'teeio-package-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;

after(() => rmSync(tmp, { recursive: true, force: true }));

interface PackResult {
  filename: string;
  files: { path: string }[];
}

describe('the npm package', () => {
  let tarball = '';
  let files: string[] = [];

  it('npm pack: the files the command needs and nothing of the development tree', () => {
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', tmp, repo], {
      encoding: 'utf8',
      env: { ...process.env, npm_config_offline: 'true' },
    });
    const [pack] = JSON.parse(out) as PackResult[];
    tarball = join(tmp, pack.filename);
    files = pack.files.map((f) => f.path);
    for (const need of [
      'package.json',
      'README.md',
      'bin/teeio.mjs',
      'src/cli/main.ts',
      'src/cli/decode.ts',
      'src/wire/pcap.ts',
      'scenarios/coco-vm-tdx.yaml',
      'web/index.html',
      'web/src/main.ts',
      'docs/captures.md',
    ]) {
      assert.ok(files.includes(need), `${need} in the tarball`);
    }
    const strays = files.filter((p) =>
      /^(test|bench|examples|node_modules|scripts)\/|vectors|\.test\.ts$|^\.|tsconfig|biome/.test(
        p,
      ),
    );
    assert.deepEqual(strays, []);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    assert.ok(pkg.dependencies.tsx, 'tsx is a runtime dependency: the bin runs the sources');
    assert.equal(pkg.bin.teeio, 'bin/teeio.mjs');
  });

  it('installed outside the repository: teeio --version, teeio --help and teeio demo run', () => {
    assert.ok(tarball, 'packed');
    const prefix = join(tmp, 'prefix');
    const install = spawnSync(
      npm,
      ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball],
      { encoding: 'utf8', cwd: tmp },
    );
    if (install.status !== 0) {
      assert.match(install.stderr, /ENOTCACHED|only-if-cached/, install.stderr);
      const pkgDir = join(prefix, 'lib', 'node_modules', 'teeio');
      mkdirSync(join(prefix, 'lib', 'node_modules'), { recursive: true });
      mkdirSync(join(prefix, 'bin'), { recursive: true });
      execFileSync('tar', ['-xzf', tarball, '-C', join(prefix, 'lib', 'node_modules')]);
      renameSync(join(prefix, 'lib', 'node_modules', 'package'), pkgDir);
      symlinkSync(join(repo, 'node_modules'), join(pkgDir, 'node_modules'));
      symlinkSync('../lib/node_modules/teeio/bin/teeio.mjs', join(prefix, 'bin', 'teeio'));
    }
    const bin = join(prefix, 'bin', 'teeio');
    assert.ok(existsSync(bin), bin);
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: tmp });
    const v = run('--version');
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), version);
    const h = run('--help');
    assert.equal(h.status, 0, h.stderr);
    for (const c of ['demo', 'device', 'responder', 'requester', 'run', 'decode']) {
      assert.match(h.stdout, new RegExp(`\\n  ${c} `), `${c} in --help`);
    }
    const d = run('demo', '--tdisp-only', '--quiet');
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, /summary: \d+ SPDM messages, (\d+)\/\1 checks held/);
  });
});
