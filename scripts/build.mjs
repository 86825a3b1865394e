#!/usr/bin/env node
// `npm run build` (also run by `prepare`, so `npm ci` and `npm pack` build): the
// TypeScript sources compiled to JavaScript with declarations in dist/
// (tsconfig.build.json), then the trace viewer's page bundled from web/ into
// dist/viewer.html, which the compiled `teeio view` reads. Any error fails the build.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const started = Date.now();
rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('teeio build: tsc failed');
  rmSync('dist', { recursive: true, force: true });
  process.exit(r.status ?? 1);
}
const { buildViewerTemplate, writeAtomic } = await import('../dist/cli/viewer-page.js');
writeAtomic('dist/viewer.html', await buildViewerTemplate());
console.log(`teeio build: dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
