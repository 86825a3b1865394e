#!/usr/bin/env node
// The teeio command: runs the compiled JavaScript in dist/ (`npm run build`, run by
// `prepare`, so an installed package and `npm ci` in a clone both have it). In a
// development checkout TEEIO_FROM_SOURCE=1 (set by scripts/test.mjs), or a missing dist/,
// runs the TypeScript sources through tsx instead, a development dependency.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
let cli;
if (process.env.TEEIO_FROM_SOURCE !== '1' && existsSync(built)) {
  cli = await import(built.href);
} else {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    console.error('teeio: dist/ is missing and tsx is not installed: run `npm run build`');
    process.exit(2);
  }
  cli = await import('../src/cli/main.ts');
}
await cli.main(process.argv);
