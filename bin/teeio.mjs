#!/usr/bin/env node
// The teeio command: runs the compiled JavaScript in dist/ (`npm run build`, run by
// `prepare`, so an installed package and `npm ci` in a clone both have it). In a
// development checkout TEEIO_FROM_SOURCE=1 (set by scripts/test.mjs), or a missing dist/,
// runs the TypeScript sources through tsx instead, a development dependency.
const fromSource = process.env.TEEIO_FROM_SOURCE === '1';
let cli;
if (!fromSource) {
  try {
    cli = await import('../dist/cli/main.js');
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli/main.js')) {
      throw e;
    }
  }
}
if (!cli) {
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
