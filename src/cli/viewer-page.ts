/**
 * The trace viewer page (web/) as one self-contained HTML file: web/src/main.ts bundled by
 * esbuild and web/src/style.css inlined into web/index.html, nothing fetched at run time,
 * then a trace embedded. The build (scripts/build.mjs) writes that page to dist/viewer.html
 * beside the compiled code, and the compiled `teeio view` / `demo --html` read it there, so
 * an installed package needs neither web/ nor esbuild; from the TypeScript sources the page
 * is built from web/ each time one is written (a fraction of a second). esbuild, a
 * development dependency, is loaded only then.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The viewer's sources (web/ at the top of the package), read as files, never imported. */
const WEB = join(dirname(fileURLToPath(import.meta.url)), '../../web');

/** The page the build wrote beside the compiled code (dist/viewer.html); none from src/. */
const BUILT = import.meta.url.endsWith('.js') ? new URL('../viewer.html', import.meta.url) : null;

/** The page without a trace: the one the build wrote, or else built from web/ now. */
export async function viewerTemplate(): Promise<string> {
  if (BUILT && existsSync(BUILT)) return readFileSync(BUILT, 'utf8');
  return buildViewerTemplate();
}

/** Replaces a marker with text taken literally (no `$&` patterns). */
function put(html: string, marker: string, text: string): string {
  const at = html.indexOf(marker);
  if (at < 0) throw new Error(`web/index.html has no ${marker}`);
  return html.slice(0, at) + text + html.slice(at + marker.length);
}

/**
 * The page without a trace, built from the sources: web/index.html with web/src/main.ts
 * bundled and web/src/style.css inlined.
 */
export async function buildViewerTemplate(): Promise<string> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [join(WEB, 'src/main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  // esbuild escapes "</script" inside strings for inline scripts; this also covers regexes.
  const js = out.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
  const css = readFileSync(join(WEB, 'src/style.css'), 'utf8');
  const html = readFileSync(join(WEB, 'index.html'), 'utf8');
  return put(put(html, '/*TEEIO-STYLE*/', css), '/*TEEIO-SCRIPT*/', js);
}

/**
 * The page with a trace embedded as JSON in the #teeio-trace script element. Every "<" is
 * written as \u003c, so no record text can close the element.
 */
export function embedTrace(
  template: string,
  trace: { title: string; records: readonly unknown[] },
): string {
  const json = JSON.stringify(trace).replace(/</g, '\\u003c');
  const at = '<script type="application/json" id="teeio-trace">';
  return put(template, at, at + json);
}

/** Writes a file through a temporary name, so a reader never sees half a page. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
