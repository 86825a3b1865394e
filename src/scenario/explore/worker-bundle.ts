/**
 * From the TypeScript sources a worker thread loads every module through tsx's hooks, which
 * costs seconds per thread on a busy machine: more than a short exploration's whole search.
 * Instead the parent bundles worker.ts once into one JavaScript file with esbuild (a
 * development dependency, as tsx is), cached in the OS temp directory under a digest of the
 * sources, and the thread loads that; a new bundle removes those of older sources a day old or
 * more (a run of an older checkout is unlikely to still want them). Built (dist/), none of
 * this runs: worker.js is plain JavaScript already. When bundling fails the thread loads
 * through tsx (worker-entry.mjs).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A digest of every source file's path, size and modification time under `dir`. */
function sourcesDigest(dir: string): string {
  const h = createHash('sha1');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mjs|js|json)$/.test(e.name)) {
        const s = statSync(p);
        h.update(`${p} ${s.size} ${s.mtimeMs}\n`);
      }
    }
  };
  walk(dir);
  return h.digest('hex').slice(0, 16);
}

let bundled: Promise<URL | undefined> | undefined;

const PREFIX = 'teeio-explore-worker-';
const DAY_MS = 24 * 3600 * 1000;

/** Removes bundles of other sources, a day old or more, from the temp directory. */
function removeStale(keep: string): void {
  const dir = path.dirname(keep);
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (!name.startsWith(PREFIX) || p === keep) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs >= DAY_MS) rmSync(p, { force: true });
    } catch {
      // Another process removed it, or it is not ours to remove: either way nothing to do.
    }
  }
}

/** The bundled worker (built once per process, reused across runs while the sources stay). */
export function bundledWorker(entry: URL): Promise<URL | undefined> {
  bundled ??= (async () => {
    try {
      const file = fileURLToPath(entry);
      const src = path.resolve(path.dirname(file), '../..');
      const out = path.join(tmpdir(), `${PREFIX}${sourcesDigest(src)}.mjs`);
      if (!existsSync(out)) {
        const { build } = await import('esbuild');
        const tmp = `${out}.${process.pid}.tmp`;
        await build({
          entryPoints: [file],
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          outfile: tmp,
          logLevel: 'silent',
          // CommonJS dependencies bundled into an ES module still call require.
          banner: {
            js: "import { createRequire as __teeioRequire } from 'node:module'; const require = __teeioRequire(import.meta.url);",
          },
        });
        renameSync(tmp, out);
        removeStale(out);
      }
      return pathToFileURL(out);
    } catch {
      return undefined;
    }
  })();
  return bundled;
}
