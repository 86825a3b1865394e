/**
 * `teeio conformance` as a child process against `teeio device`: the text report and its
 * closing totals line, JUnit written to a file, exit codes 0 (nothing failed) and 1
 * (a case failed, against --behaviour spdm-emu), and --only matching nothing refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { startServer, teeio } from '../cli/teeio-child.ts';

const tmp = mkdtempSync(join(tmpdir(), 'teeio-conformance-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

it('teeio conformance against teeio device: text, JUnit, exit codes', async () => {
  const root = join(tmp, 'root.der');
  const good = await startServer('device', ['--write-root', root]);
  const emu = await startServer('device', ['--behaviour', 'spdm-emu']);
  try {
    const junit = join(tmp, 'out.xml');
    const [ok, bad, none, profiled] = await Promise.all([
      teeio([
        'conformance',
        '--connect',
        `127.0.0.1:${good.port}`,
        '--trust',
        root,
        '--tdi',
        '1',
        '--only',
        'spdm.version.*,tdisp.lock.*',
        '--junit',
        junit,
      ]),
      teeio([
        'conformance',
        '--connect',
        `127.0.0.1:${emu.port}`,
        '--tdi',
        '1',
        '--only',
        'tdisp.version.*',
        '--json',
      ]),
      teeio(['conformance', '--connect', `127.0.0.1:${good.port}`, '--only', 'nothing']),
      teeio([
        'conformance',
        '--connect',
        `127.0.0.1:${emu.port}`,
        '--tdi',
        '1',
        '--only',
        'tdisp.version.*,robustness.huge-size',
        '--profile',
        'spdm-emu',
      ]),
    ]);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /^PASS {2}tdisp\.lock\.ok$/m);
    assert.match(ok.stdout.trimEnd().split('\n').at(-1)!, /^\d+ passed, 0 failed, \d+ skipped$/);
    assert.match(
      readFileSync(junit, 'utf8'),
      /<testcase classname="conformance\.tdisp" name="tdisp\.lock\.ok"/,
    );
    assert.equal(bad.code, 1, bad.stderr);
    const json = JSON.parse(bad.stdout);
    assert.equal(
      json.results.find((r: { id: string }) => r.id === 'tdisp.version.keeps-locked').outcome
        .status,
      'fail',
    );
    // --profile: the departure is an expected deviation, not a failure (exit 0), the
    // server exit that teeio does not reproduce is reported as not seen
    assert.equal(profiled.code, 0, profiled.stderr + profiled.stdout);
    assert.match(profiled.stdout, /^DEVN {2}tdisp\.version\.keeps-locked$/m);
    assert.match(profiled.stdout, /expected deviations not seen: robustness\.huge-size$/m);
    assert.equal(
      profiled.stdout.trimEnd().split('\n').at(-1),
      '1 passed, 0 failed, 0 skipped, 1 expected deviations',
    );
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--only: "nothing" matches no case/);
  } finally {
    good.child.kill('SIGTERM');
    emu.child.kill('SIGTERM');
    await Promise.all([good.done, emu.done]);
  }
});
