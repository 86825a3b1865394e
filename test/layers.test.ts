/**
 * The layer table of DESIGN.md ("Layers ... may import") checked over src/: every relative
 * import (static, `export ... from`, dynamic) must land in the importing folder itself or in a
 * folder its row allows, and the node modules that reach outside the process (node:net) stay
 * in transport/. A folder under src/ without a row fails the check: add its row here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

/** Folder -> the folders it may import (itself always). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  wire: [],
  crypto: ['wire'],
  spdm: ['wire', 'crypto'],
  transport: ['wire'],
  device: ['wire', 'crypto', 'spdm'],
  platform: ['wire', 'crypto', 'spdm', 'device'],
  // Not written yet; their rows as DESIGN.md has them (wire/crypto open to every layer).
  host: ['wire', 'crypto', 'platform', 'device'],
  guest: ['wire', 'crypto', 'platform'],
  world: ['wire', 'crypto', 'spdm', 'transport', 'device', 'platform', 'host', 'guest'],
  scenario: ['wire', 'world'],
  conformance: ['wire', 'crypto', 'spdm', 'transport'],
  // DESIGN.md lists scenario, world, spdm, transport; the commands also print with wire's
  // describers, load identities (crypto), resolve device profiles and drive the TSM.
  cli: [
    'wire',
    'crypto',
    'spdm',
    'transport',
    'device',
    'platform',
    'world',
    'scenario',
    'conformance',
  ],
};

/** Modules that only these folders may import. */
const RESTRICTED_MODULES: Record<string, readonly string[]> = {
  'node:net': ['transport'],
  net: ['transport'],
};

export interface SourceFile {
  /** Path relative to the repository, e.g. src/spdm/requester/exchange.ts. */
  path: string;
  text: string;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module specifier a file imports or re-exports. */
export function importsOf(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** One line per import that breaks the table. */
export function layerViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const parts = f.path.split('/');
    if (parts.length < 3) continue; // src/index.ts: the package's entry point re-exports all
    const from = parts[1];
    const allowed = MAY_IMPORT[from];
    if (!allowed) {
      out.push(`${f.path}: folder ${from}/ has no row in the layer table`);
      continue;
    }
    for (const spec of importsOf(f.text)) {
      if (spec.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(f.path), spec));
        const to = target.split('/')[1];
        if (!target.startsWith('src/') || (to !== from && !allowed.includes(to))) {
          out.push(`${f.path}: ${from}/ may not import ${to}/ (${spec})`);
        }
      } else {
        const only = RESTRICTED_MODULES[spec];
        if (only && !only.includes(from)) out.push(`${f.path}: ${from}/ may not import ${spec}`);
      }
    }
  }
  return out;
}

function sourceFiles(dir: string): SourceFile[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => {
      const p = path.join(e.parentPath, e.name);
      return { path: path.relative(process.cwd(), p).split(path.sep).join('/'), text: '' };
    })
    .map((f) => ({ ...f, text: readFileSync(f.path, 'utf8') }));
}

describe('layers (DESIGN.md "may import")', () => {
  test('src/ keeps the table', () => {
    const files = sourceFiles('src');
    assert.ok(files.length > 100, `${files.length} files under src/`);
    assert.deepStrictEqual(layerViolations(files), []);
  });

  test('the check finds what breaks it', () => {
    const bad: SourceFile[] = [
      {
        path: 'src/spdm/x.ts',
        text: "import { decodeTransportPayload } from '../transport/binding.ts';",
      },
      {
        path: 'src/spdm/y.ts',
        text: "import type {\n  RequesterTransport,\n} from '../../src/transport/types.ts';",
      },
      { path: 'src/device/z.ts', text: "import { createServer } from 'node:net';" },
      {
        path: 'src/device/w.ts',
        text: "export { serveSpdmEmu } from '../transport/spdm-emu-server.ts';",
      },
      { path: 'src/transport/v.ts', text: "const m = await import('../device/pci/device.ts');" },
      { path: 'src/gadget/u.ts', text: '' },
    ];
    assert.deepStrictEqual(layerViolations(bad), [
      'src/spdm/x.ts: spdm/ may not import transport/ (../transport/binding.ts)',
      'src/spdm/y.ts: spdm/ may not import transport/ (../../src/transport/types.ts)',
      'src/device/z.ts: device/ may not import node:net',
      'src/device/w.ts: device/ may not import transport/ (../transport/spdm-emu-server.ts)',
      'src/transport/v.ts: transport/ may not import device/ (../device/pci/device.ts)',
      'src/gadget/u.ts: folder gadget/ has no row in the layer table',
    ]);
    const good: SourceFile[] = [
      {
        path: 'src/spdm/x.ts',
        text: "import { Reader } from '../wire/reader.ts';\nimport './y.ts';",
      },
      { path: 'src/transport/t.ts', text: "import { connect } from 'node:net';" },
      { path: 'src/index.ts', text: "export * as world from './world/index.ts';" },
    ];
    assert.deepStrictEqual(layerViolations(good), []);
  });
});
