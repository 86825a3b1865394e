/**
 * The trusted DMA contexts are the TSM's (platform/iommu-secure.ts): outside platform/ no
 * module may import them, host/ least of all (DESIGN.md: a host that reaches into the TSM's
 * state is a bug), and the platform's index does not re-export them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { importsOf, type SourceFile } from '../layers.test.ts';

const SECURE = 'src/platform/iommu-secure.ts';

/** One line per module outside src/platform/ that imports the TSM-only module. */
function secureImportViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f.path.startsWith('src/platform/') && f.path !== 'src/platform/index.ts') continue;
    for (const spec of importsOf(f.text)) {
      if (!spec.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f.path), spec));
      if (target === SECURE) out.push(`${f.path} imports ${spec}`);
    }
  }
  return out;
}

function sources(): SourceFile[] {
  return readdirSync('src', { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => {
      const p = path
        .relative(process.cwd(), path.join(e.parentPath, e.name))
        .split(path.sep)
        .join('/');
      return { path: p, text: readFileSync(p, 'utf8') };
    });
}

describe('platform/iommu-secure stays with the TSM', () => {
  it('no module outside platform/ (and not platform/index.ts) imports it', () => {
    const files = sources();
    assert.ok(files.some((f) => f.path === SECURE));
    assert.deepEqual(secureImportViolations(files), []);
  });

  it('the check finds a host module, a re-export and a dynamic import of it', () => {
    const bad: SourceFile[] = [
      {
        path: 'src/host/iommufd/vdevice.ts',
        text: "import { secureDmaAdd } from '../../platform/iommu-secure.ts';",
      },
      { path: 'src/platform/index.ts', text: "export { secureDmaAdd } from './iommu-secure.ts';" },
      { path: 'src/world/x.ts', text: "const m = await import('../platform/iommu-secure.ts');" },
      {
        path: 'src/platform/tsm/dmar.ts',
        text: "import { secureDmaAdd } from '../iommu-secure.ts';",
      },
    ];
    assert.deepEqual(secureImportViolations(bad), [
      'src/host/iommufd/vdevice.ts imports ../../platform/iommu-secure.ts',
      'src/platform/index.ts imports ./iommu-secure.ts',
      'src/world/x.ts imports ../platform/iommu-secure.ts',
    ]);
  });
});
