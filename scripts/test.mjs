#!/usr/bin/env node
// Runs every test file under test/ with node's test runner and tsx.
// Node 20's runner does not expand globs, so the files are collected here.
// TEEIO_SLOW=1 also runs the *.slow.test.ts files (long fuzz and soak runs).
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
});
process.exit(r.status ?? 1);
