/**
 * The trusted DMA contexts and the IOMMU's own table of a VM are the TSM's
 * (platform/iommu-secure.ts, iommu-mirror.ts): outside platform/ no module may import them, host/ least of all (DESIGN.md: a host that reaches into the TSM's
 * state is a bug), and the platform's index does not re-export them.
 *
 * And the trust boundaries of issue 9: the untrusted host reaches the platform only through
 * a flavour's host ABI and the hardware a host really programs (its IOMMU tables, the shared
 * EPT, CPU accesses through the fabric); the guest only through a flavour's guest ABI. The
 * TSM core, the secure EPT, memory ownership and the flavours' records are private.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { importsOf, type SourceFile } from '../layers.test.ts';

const SECURE = 'src/platform/iommu-secure.ts';
const TSM_ONLY = new Set([SECURE, 'src/platform/iommu-mirror.ts']);

/** One line per module outside src/platform/ that imports a TSM-only module. */
function secureImportViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f.path.startsWith('src/platform/') && f.path !== 'src/platform/index.ts') continue;
    for (const spec of importsOf(f.text)) {
      if (!spec.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f.path), spec));
      if (TSM_ONLY.has(target)) out.push(`${f.path} imports ${spec}`);
    }
  }
  return out;
}

/** What each untrusted folder may import of src/platform/ (everything else is private). */
const PLATFORM_ENTRIES: Record<string, readonly RegExp[]> = {
  host: [
    /^src\/platform\/[a-z]+\/host-abi\.ts$/,
    /^src\/platform\/(abi|ids|iommu|shared-ept|fabric|events|result|pfn-table)\.ts$/,
  ],
  // The guest's CPU accesses answer as the fabric's transactions do (types of results).
  guest: [
    /^src\/platform\/[a-z]+\/guest-abi\.ts$/,
    /^src\/platform\/(abi|ids|fabric|events|result|pfn-table)\.ts$/,
  ],
};

/** One line per import from host/ or guest/ into a platform module its row does not list. */
function boundaryViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const allowed = PLATFORM_ENTRIES[f.path.split('/')[1]];
    if (!allowed) continue;
    for (const spec of importsOf(f.text)) {
      if (!spec.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f.path), spec));
      if (target.startsWith('src/platform/') && !allowed.some((r) => r.test(target))) {
        out.push(`${f.path} imports ${spec}`);
      }
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

describe('platform/iommu-secure and iommu-mirror stay with the TSM', () => {
  it('no module outside platform/ (and not platform/index.ts) imports them', () => {
    const files = sources();
    for (const m of TSM_ONLY)
      assert.ok(
        files.some((f) => f.path === m),
        m,
      );
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
      { path: 'src/world/y.ts', text: "import { mirrorFill } from '../platform/iommu-mirror.ts';" },
    ];
    assert.deepEqual(secureImportViolations(bad), [
      'src/host/iommufd/vdevice.ts imports ../../platform/iommu-secure.ts',
      'src/platform/index.ts imports ./iommu-secure.ts',
      'src/world/x.ts imports ../platform/iommu-secure.ts',
      'src/world/y.ts imports ../platform/iommu-mirror.ts',
    ]);
  });
});

describe('host/ and guest/ reach the platform only through its ABIs', () => {
  it('no host or guest module imports a platform-private module', () => {
    assert.deepEqual(boundaryViolations(sources()), []);
  });

  it("the check refuses the TSM core, the secure EPT and the other side's ABI", () => {
    const bad: SourceFile[] = [
      {
        path: 'src/host/vfio/bind.ts',
        text: "import { tsmTdiLock } from '../../platform/tsm/tdi.ts';",
      },
      { path: 'src/host/kvm/mmu.ts', text: "import { septAdd } from '../../platform/sept.ts';" },
      {
        path: 'src/guest/devsec.ts',
        text: "import { TDX_HOST_ABI } from '../platform/tdx/host-abi.ts';",
      },
      { path: 'src/guest/mem.ts', text: "import { assignPrivate } from '../platform/memory.ts';" },
      { path: 'src/host/vfio/tsm.ts', text: "import { x } from '../../platform/tdx/host-abi.ts';" },
      {
        path: 'src/host/iommufd/ioas.ts',
        text: "import { iommuMap } from '../../platform/iommu.ts';",
      },
      { path: 'src/guest/tsm.ts', text: "import { y } from '../platform/sev/guest-abi.ts';" },
      { path: 'src/world/compose.ts', text: "import { septAdd } from '../platform/sept.ts';" },
    ];
    assert.deepEqual(boundaryViolations(bad), [
      'src/host/vfio/bind.ts imports ../../platform/tsm/tdi.ts',
      'src/host/kvm/mmu.ts imports ../../platform/sept.ts',
      'src/guest/devsec.ts imports ../platform/tdx/host-abi.ts',
      'src/guest/mem.ts imports ../platform/memory.ts',
    ]);
  });
});
