/**
 * The README's library example must keep running as written. It imports 'teeio' (the
 * package itself); the teeio-source condition resolves that to src/ rather than dist/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

it('examples/quickstart.ts runs and reports a verified lifecycle', () => {
  const r = spawnSync(
    process.execPath,
    ['--conditions=teeio-source', '--import', 'tsx', 'examples/quickstart.ts'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /6 IDE keys, \d+ MMIO ranges, report matches the BARs, TDI RUN/);
  assert.match(r.stdout, /SPDM GET_CAPABILITIES: CTExponent at byte 5: truncated/);
  assert.match(r.stdout, /every check held: true/);
});
