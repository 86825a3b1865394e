/**
 * `teeio device` as a child process, driven by `teeio requester` with the TSM steps: both
 * spdm-emu transports, a generated identity (root written with --write-root) and libspdm's
 * sample identity; exit codes, the lines each side prints, a clean stop on SIGTERM, and
 * one-line refusals of bad command lines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { vectorPath } from '../support/captures.ts';
import { startServer, teeio } from './teeio-child.ts';

const tmp = mkdtempSync(join(tmpdir(), 'teeio-device-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Starts `teeio device`; resolves once it has printed its port and TDIs. */
async function startDevice(args: string[]) {
  // The device prints its TDIs first and the listening line last.
  const { child, done, port, banner } = await startServer('device', args);
  const tdis = [
    ...banner.matchAll(/tdi fn=(\d+) requester-id=\S+ interface-id=(0x[0-9a-f]+) bars=(\S+)/g),
  ].map((m) => ({ fn: Number(m[1]), interfaceId: m[2], bars: m[3] }));
  return { child, done, port, tdis, banner };
}

const STEPS = 'version,caps,algs,digests,cert,challenge,meas,session,ide-km,tdisp,heartbeat,end';

describe('teeio device', () => {
  it('serves the NIC on pci_doe; teeio requester runs VCA..ide-km,tdisp..end against it with exit code 0', async () => {
    const root = join(tmp, 'root.der');
    const dev = await startDevice(['--profile', 'nic', '--write-root', root]);
    try {
      assert.match(
        dev.banner,
        /device: nic, behaviour spec, identity generated \(3 certificates\)/,
      );
      assert.deepEqual(
        dev.tdis.map((t) => [t.fn, t.interfaceId]),
        [
          [1, '0x0001'],
          [2, '0x0002'],
          [3, '0x0003'],
          [4, '0x0004'],
        ],
      );
      const tdi = dev.tdis[2];
      const r = await teeio([
        'requester',
        '--connect',
        `127.0.0.1:${dev.port}`,
        '--trust',
        root,
        '--steps',
        STEPS,
        '--tdi',
        tdi.interfaceId,
        '--tdi-bars',
        tdi.bars,
        '--mmio-reporting-offset',
        '0xd0000000',
      ]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(
        r.stdout,
        /^ide-km: stream 0 port 0 \(\d+ IDE registers\): 6 keys programmed and started/m,
      );
      assert.match(
        r.stdout,
        /^tdisp: tdi 0x0003: TDISP 1\.0, .*LOCK -> CONFIG_LOCKED, report \d+ B, \d+ ranges match BARs 0, START -> RUN, STOP -> CONFIG_UNLOCKED$/m,
      );
      assert.match(r.stdout, /^END_SESSION .* ok/m);
      assert.match(r.stdout, /^result: every step verified/m);

      // A wrong BAR list fails the report check: exit code 1, one line naming the mismatch.
      const bad = await teeio([
        'requester',
        '--connect',
        `127.0.0.1:${dev.port}`,
        '--trust',
        root,
        '--steps',
        'ide-km,tdisp',
        '--tdi',
        tdi.interfaceId,
        '--tdi-bars',
        '0:0x10000000:0x10000',
      ]);
      assert.equal(bad.code, 1, bad.stdout);
      assert.match(
        bad.stderr,
        /tdisp: TDISP report check: range 0 at 0x[0-9a-f]+ .* not inside any assigned BAR/,
      );
    } finally {
      dev.child.kill('SIGTERM');
    }
    const end = await dev.done;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /closed \(SIGTERM\)/);
  });

  it("serves the NVMe on mctp with libspdm's sample identity; the requester trusts ca.cert.der", async () => {
    const k = (f: string) => vectorPath('libspdm-sample-keys', 'ecp384', f);
    const dev = await startDevice([
      '--profile',
      'nvme',
      '--trans',
      'mctp',
      '--cert-chain',
      k('bundle_responder.certchain.der'),
      '--key',
      k('end_responder.key'),
    ]);
    try {
      assert.equal(dev.tdis.length, 1);
      const r = await teeio([
        'requester',
        '--connect',
        `127.0.0.1:${dev.port}`,
        '--trans',
        'mctp',
        '--trust',
        k('ca.cert.der'),
        '--steps',
        STEPS,
        '--tdi',
        String(dev.tdis[0].fn),
        '--tdi-bars',
        dev.tdis[0].bars,
      ]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /^certificate: slot 0, .*3 certificates$/m);
      assert.match(r.stdout, /^tdisp: tdi 0x0000: .*STOP -> CONFIG_UNLOCKED$/m);
    } finally {
      dev.child.kill('SIGINT');
    }
    assert.equal((await dev.done).code, 0);
  });

  it('refuses bad command lines with one line and exit code 2', async () => {
    const [noProfile, half, noTdi] = await Promise.all([
      teeio(['device', '--profile', join(tmp, 'missing.yaml'), '--port', '0']),
      teeio(['device', '--cert-chain', 'x.der', '--port', '0']),
      teeio(['requester', '--connect', '127.0.0.1:1', '--steps', 'tdisp']),
    ]);
    assert.equal(noProfile.code, 2);
    assert.match(noProfile.stderr, /^teeio device: --profile .*missing\.yaml/);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--cert-chain and --key go together/);
    assert.equal(noTdi.code, 2);
    assert.match(noTdi.stderr, /--tdi: the tdisp step needs the TDI/);
  });
});
