/**
 * `teeio responder` and `teeio requester` as child processes, the way a user runs them
 * side by side: both spdm-emu transports, SPDM 1.2 and 1.3, a generated identity (its root
 * written with --write-root and trusted with --trust) and libspdm's sample identity; the
 * per-exchange lines, --json, --repeat, exit codes, a clean stop on SIGTERM, and one-line
 * errors for an unreachable peer, bad files and a chain that does not verify.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { vectorPath } from '../support/captures.ts';
import { type Done, startServer, teeio } from './teeio-child.ts';

const tmp = mkdtempSync(join(tmpdir(), 'teeio-spdm-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const sample = (f: string) => vectorPath('libspdm-sample-keys', 'ecp384', f);

/** Starts `teeio responder --port 0 ...`; resolves once it says where it listens. */
const startResponder = (args: string[]) => startServer('responder', args);

const EXCHANGES = [
  'GET_VERSION',
  'GET_CAPABILITIES',
  'NEGOTIATE_ALGORITHMS',
  'GET_DIGESTS',
  'GET_CERTIFICATE',
  'CHALLENGE',
  'GET_MEASUREMENTS',
  'KEY_EXCHANGE',
  'FINISH',
  'HEARTBEAT',
  'KEY_UPDATE',
  'END_SESSION',
];

describe('teeio responder <-> teeio requester', () => {
  it('pci_doe, generated identity: text, --json, --repeat, a foreign root, SIGTERM', async () => {
    const root = join(tmp, 'root.der');
    const rsp = await startResponder(['--write-root', root]);
    const connect = `127.0.0.1:${rsp.port}`;
    try {
      const [text, json, repeat, foreign] = await Promise.all([
        teeio(['requester', '--connect', connect, '--trust', root]),
        teeio(['requester', '--connect', connect, '--trust', root, '--ver', '1.2', '--json']),
        teeio(['requester', '--connect', connect, '--trust', root, '--repeat', '3']),
        teeio([
          'requester',
          '--connect',
          connect,
          '--trust',
          sample('ca.cert.der'),
          '--steps',
          'cert',
        ]),
      ]);

      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.split('\n');
      for (const name of EXCHANGES) {
        const line = lines.find((l) => l.startsWith(name));
        assert.ok(line, `a line for ${name}`);
        assert.match(line, / B -> \S+ +\d+ B {2}ok/, line);
      }
      assert.match(
        text.stdout,
        /^negotiated: SPDM 1\.3, sha384, ecdsa-p384, secp384r1, aes-256-gcm/m,
      );
      assert.match(text.stdout, /^certificate: slot 0, CN=teeio responder/m);
      assert.match(text.stdout, /^measurement 5: version, raw/m);
      assert.match(text.stdout, /^session: 0x[0-9a-f]{8} \(ended\)/m);
      assert.match(text.stdout, /^result: every step verified/m);

      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout);
      assert.equal(report.ok, true);
      assert.equal(report.negotiated.version, '1.2');
      assert.deepEqual(
        report.steps.map((s: { step: string }) => s.step),
        [
          'version',
          'caps',
          'algs',
          'digests',
          'cert',
          'challenge',
          'meas',
          'session',
          'heartbeat',
          'key-update',
          'end',
        ],
      );
      assert.ok(report.exchanges.length >= EXCHANGES.length);

      assert.equal(repeat.code, 0, repeat.stderr);
      assert.match(
        repeat.stdout,
        /^3 runs in [\d.]+ s: [\d.]+ sessions\/s, latency min [\d.]+ ms, median [\d.]+ ms, max [\d.]+ ms$/m,
      );

      assert.equal(foreign.code, 1);
      assert.match(foreign.stdout, /^GET_CERTIFICATE .*FAILED certificate-chain$/m);
      const err = foreign.stderr.trim().split('\n');
      assert.equal(err.length, 1, 'one line');
      assert.match(err[0], /^teeio requester: cert: certificate-chain did not verify: wrong-root/);
    } finally {
      rsp.child.kill('SIGTERM');
    }
    const stopped = await rsp.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /closed \(SIGTERM, \d+ connection\(s\) served\)/);
  });

  it("mctp SPDM 1.2 with libspdm's sample identity, and the handshake in the clear", async () => {
    const rsp = await startResponder([
      '--trans',
      'mctp',
      '--ver',
      '1.2',
      '--cert-chain',
      sample('bundle_responder.certchain.der'),
      '--key',
      sample('end_responder.key'),
      '--handshake-in-the-clear',
    ]);
    const connect = `127.0.0.1:${rsp.port}`;
    try {
      const [plain, clear] = await Promise.all([
        teeio([
          'requester',
          '--connect',
          connect,
          '--trans',
          'mctp',
          '--trust',
          sample('ca.cert.der'),
        ]),
        teeio([
          'requester',
          '--connect',
          connect,
          '--trans',
          'mctp',
          '--trust',
          sample('ca.cert.der'),
          '--handshake-in-the-clear',
          '--steps',
          'session,end',
        ]),
      ]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^negotiated: SPDM 1\.2,/m);
      assert.match(plain.stdout, /certificate: slot 0, CN=DMTF libspdm ECP384 responder cert/);
      assert.equal(clear.code, 0, clear.stderr);
      assert.match(clear.stdout, /^negotiated: .*handshake in the clear/m);
      assert.match(clear.stdout, /^FINISH .*ok \(finish-verify-data\)/m);
    } finally {
      rsp.child.kill('SIGINT');
    }
    assert.equal((await rsp.done).code, 0);
  });

  it('one-line errors: unreachable peer (1), missing file (2), key not of the chain (2), bad option (2)', async () => {
    const [unreachable, missing, mismatch, halfIdentity, badSteps] = await Promise.all([
      teeio(['requester', '--connect', '127.0.0.1:1']),
      teeio(['requester', '--connect', '127.0.0.1:1', '--trust', join(tmp, 'nope.der')]),
      teeio([
        'responder',
        '--port',
        '0',
        '--cert-chain',
        sample('bundle_responder.certchain.der'),
        '--key',
        vectorPath('libspdm-sample-keys', 'ecp256', 'end_responder.key'),
      ]),
      teeio(['responder', '--port', '0', '--key', sample('end_responder.key')]),
      teeio(['requester', '--connect', '127.0.0.1:1', '--steps', 'version,dance']),
    ]);
    const oneLine = (d: Done, code: number, re: RegExp) => {
      assert.equal(d.code, code, d.stderr);
      const err = d.stderr.trim().split('\n');
      assert.equal(err.length, 1, d.stderr);
      assert.match(err[0], re);
    };
    oneLine(unreachable, 1, /^teeio requester: cannot reach 127\.0\.0\.1:1: .*ECONNREFUSED/);
    oneLine(missing, 2, /^teeio requester: --trust .*nope\.der: ENOENT/);
    oneLine(
      mismatch,
      2,
      /^teeio responder: --key .* is not the private key of the last certificate/,
    );
    oneLine(halfIdentity, 2, /^teeio responder: --cert-chain and --key go together$/);
    oneLine(badSteps, 2, /^teeio requester: --steps: unknown step "dance"/);
  });
});
