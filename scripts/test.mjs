#!/usr/bin/env node
// Runs every test file under test/ with node's test runner and tsx.
// Node 20's runner does not expand globs, so the files are collected here.
// TEEIO_SLOW=1 also runs the *.slow.test.ts files (long fuzz and soak runs).
// The tests run the TypeScript sources: TEEIO_FROM_SOURCE=1 makes bin/teeio.mjs, spawned by
// the CLI tests, run src/ through tsx rather than a dist/ built from older sources.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const slow = process.env.TEEIO_SLOW === '1';
const filter = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts') && (slow || !name.endsWith('.slow.test.ts'))) out.push(p);
  }
  return out;
}

let files = collect('test');
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...files], {
  stdio: 'inherit',
  env: { ...process.env, TEEIO_FROM_SOURCE: '1' },
});
process.exit(r.status ?? 1);
