/**
 * teeio as an npm package: `npm pack` builds (its `prepare` runs `npm run build`) and makes
 * the tarball users install; the command and the library then run from where npm puts them,
 * outside the repository, with no network and no TypeScript loader.
 *
 * What this proves:
 * - the tarball holds the compiled JavaScript and its declarations (dist/), the viewer page
 *   the build bundled (dist/viewer.html), the bin, the shipped scenarios and the docs, and
 *   nothing of the development tree (TypeScript sources, web/, tests, vectors, benches,
 *   examples, configs); every `exports` entry names files that are in it; tsx, esbuild and
 *   typescript are not runtime dependencies;
 * - installed globally, `teeio --version`, `--help`, `demo` (both parts), `demo --html`
 *   (the trace in dist/viewer.html, no esbuild) and `explore --workers 2` (worker threads on
 *   dist/scenario/explore/worker.js) run;
 * - in a plain Node 20 ESM project, `import { ... } from 'teeio'` and from a subpath work at
 *   run time, and a TypeScript file that uses them type-checks against the shipped
 *   declarations with the repository's tsc (strict, NodeNext, skipLibCheck off), with a
 *   deliberate misuse that must be an error, so the types are not `any`.
 *
 * Installing: `npm install --offline` from the tarball when the npm cache holds the
 * dependencies. A cache without them makes npm answer ENOTCACHED, and then the install is
 * laid out the way npm lays it out: the tarball unpacked as node_modules/teeio, its
 * node_modules a folder of links to the repository's runtime dependencies only (those the
 * lock file does not mark dev), so tsx, esbuild and typescript cannot be reached from it.
 */
import assert from 'node:assert/strict';
import { execFileSync, type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const repo = resolve('.');
const tmp = mkdtempSync(join(tmpdir(), 'teeio-package-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

after(() => rmSync(tmp, { recursive: true, force: true }));

/** The environment of a user's shell: none of the test runner's source switches. */
const userEnv = (() => {
  const env = { ...process.env };
  delete env.TEEIO_FROM_SOURCE;
  delete env.NODE_OPTIONS;
  return env;
})();

interface PackResult {
  filename: string;
  files: { path: string }[];
}

/** node_modules holding links to the repository's runtime dependencies only. */
function runtimeModules(): string {
  const dir = join(tmp, 'runtime-modules');
  if (existsSync(dir)) return dir;
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
    if (!path.startsWith('node_modules/') || path.includes('/node_modules/', 1) || entry.dev)
      continue;
    const from = join(repo, path);
    if (!existsSync(from)) continue; // an optional package for another platform
    const to = join(dir, path.slice('node_modules/'.length));
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(from, to);
  }
  return dir;
}

/** Installs the tarball as npm would, offline; `global` into a prefix, else into `dir`. */
function install(tarball: string, dir: string, global: boolean): void {
  const args = global
    ? ['install', '-g', '--prefix', dir, '--offline', '--no-audit', '--no-fund', tarball]
    : ['install', '--offline', '--no-audit', '--no-fund', tarball];
  const r = spawnSync(npm, args, { encoding: 'utf8', cwd: dir, env: userEnv });
  if (r.status === 0) return;
  assert.match(r.stderr, /ENOTCACHED|only-if-cached/, r.stderr);
  const modules = global ? join(dir, 'lib', 'node_modules') : join(dir, 'node_modules');
  const pkgDir = join(modules, 'teeio');
  rmSync(pkgDir, { recursive: true, force: true });
  mkdirSync(modules, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', modules]);
  renameSync(join(modules, 'package'), pkgDir);
  symlinkSync(runtimeModules(), join(pkgDir, 'node_modules'));
  if (global) {
    mkdirSync(join(dir, 'bin'), { recursive: true });
    symlinkSync('../lib/node_modules/teeio/bin/teeio.mjs', join(dir, 'bin', 'teeio'));
  }
}

const ok = (r: SpawnSyncReturns<string>, what: string) =>
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout.slice(-2000)}`);

describe('the npm package', () => {
  let tarball = '';

  it('npm pack builds dist/ and ships it, with nothing of the development tree', () => {
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', tmp, repo], {
      encoding: 'utf8',
      env: { ...userEnv, npm_config_offline: 'true' },
    });
    const [packed] = JSON.parse(out.slice(out.indexOf('['))) as PackResult[];
    tarball = join(tmp, packed.filename);
    const files = packed.files.map((f) => f.path);
    for (const need of [
      'package.json',
      'README.md',
      'bin/teeio.mjs',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/cli/decode.js',
      'dist/wire/pcap.d.ts',
      'dist/scenario/explore/worker.js',
      'scenarios/coco-vm-tdx.yaml',
      'dist/viewer.html',
      'docs/captures.md',
    ]) {
      assert.ok(files.includes(need), `${need} in the tarball`);
    }
    for (const [entry, target] of Object.entries(
      pkg.exports as Record<string, Record<string, string>>,
    )) {
      for (const cond of ['types', 'default'])
        assert.ok(files.includes(target[cond].slice(2)), `exports ${entry} ${cond} shipped`);
    }
    const strays = files.filter((p) =>
      /^(src|test|bench|examples|node_modules|scripts|web)\/|vectors|\.test\.|^\.|tsconfig|biome/.test(
        p,
      ),
    );
    assert.deepEqual(strays, []);
    for (const dev of ['tsx', 'esbuild', 'typescript'])
      assert.equal(pkg.dependencies[dev], undefined, `${dev} is only a development dependency`);
    assert.equal(pkg.bin.teeio, 'bin/teeio.mjs');
  });

  it('installed globally: teeio --version, --help, demo, demo --html and explore --workers', () => {
    assert.ok(tarball, 'packed');
    const prefix = join(tmp, 'prefix');
    mkdirSync(prefix);
    install(tarball, prefix, true);
    const bin = join(prefix, 'bin', 'teeio');
    assert.ok(existsSync(bin), bin);
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: tmp, env: userEnv });
    const v = run('--version');
    ok(v, '--version');
    assert.equal(v.stdout.trim(), pkg.version);
    const h = run('--help');
    ok(h, '--help');
    for (const c of ['demo', 'device', 'responder', 'requester', 'run', 'decode', 'explore']) {
      assert.match(h.stdout, new RegExp(`\\n  ${c} `), `${c} in --help`);
    }
    const d = run('demo', '--quiet', '--html', join(tmp, 'demo.html'));
    ok(d, 'demo');
    assert.match(d.stdout, /(\d+)\/\1 steps as expected/);
    assert.match(d.stdout, /summary: \d+ SPDM messages, (\d+)\/\1 checks held/);
    assert.match(readFileSync(join(tmp, 'demo.html'), 'utf8'), /id="teeio-trace">\{/);
    const x = run('explore', '--steps', '60', '--workers', '2', '--json', '--out', tmp);
    ok(x, 'explore --workers 2');
    assert.equal(JSON.parse(x.stdout).violations.length, 0);
  });

  it('in a plain Node 20 ESM project: imported at run time and type-checked', () => {
    assert.ok(tarball, 'packed');
    const app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
    );
    install(tarball, app, false);
    // Run time: the root entry point and a subpath, no loader.
    writeFileSync(
      join(app, 'main.mjs'),
      `import { world, wire as w } from 'teeio';
import { fromHex, spdm } from 'teeio/wire';
import { SpdmRequester } from 'teeio/spdm';
const { ok, trace } = await world.runLifecycle({ seed: 'package' });
const msg = spdm.decodeSpdm(fromHex('10840000'));
console.log(JSON.stringify({ ok, records: trace.records.length, code: msg.code, same: w.fromHex === fromHex, requester: typeof SpdmRequester }));
`,
    );
    const r = spawnSync(process.execPath, ['main.mjs'], {
      encoding: 'utf8',
      cwd: app,
      env: userEnv,
    });
    ok(r, 'node main.mjs');
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    assert.ok(out.records > 10);
    assert.equal(out.same, true);
    assert.equal(out.requester, 'function');
    // Types: the shipped declarations, strict, NodeNext, nothing skipped.
    writeFileSync(
      join(app, 'check.ts'),
      `import { device, spdm, world } from 'teeio';
import { fromHex, toHex, WireError } from 'teeio/wire';
import type { LifecycleResult } from 'teeio/world';

const hex: string = toHex(fromHex('10840000'));
const nic: device.DeviceProfile = device.builtinProfiles.nic;
const run: Promise<LifecycleResult> = world.runLifecycle({ seed: hex, profile: nic });
const err: WireError | undefined = undefined;
export { err, run, spdm };
// @ts-expect-error toHex takes bytes, not a number: the declarations are real types, not any
toHex(42);
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(repo, 'node_modules', '@types')],
        },
        files: ['check.ts'],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      { encoding: 'utf8', cwd: app, env: userEnv },
    );
    ok(tsc, 'tsc against the shipped declarations');
  });
});
