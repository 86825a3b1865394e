/**
 * `teeio requester --repeat N` as a load generator against `teeio responder`: --concurrency
 * runs that many flows at once and labels the figure as a load test, --chain-cache reads
 * the chain once and then skips GET_CERTIFICATE, every run still verifies; the responder
 * counts one connection per run. Bad counts are one-line usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startServer, teeio } from './teeio-child.ts';

const tmp = mkdtempSync(join(tmpdir(), 'teeio-load-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const FLOW = 'version,caps,algs,digests,cert,meas,session,end';

describe('teeio requester --repeat --concurrency --chain-cache', () => {
  it('runs N flows at once, reads the chain once with the cache, one connection per run', async () => {
    const root = join(tmp, 'root.der');
    const rsp = await startServer('responder', ['--write-root', root]);
    const base = ['requester', '--connect', `127.0.0.1:${rsp.port}`, '--trust', root];
    try {
      const cached = await teeio([
        ...base,
        ...['--steps', FLOW, '--repeat', '6', '--concurrency', '3', '--chain-cache', '--json'],
      ]);
      assert.equal(cached.code, 0, cached.stderr);
      const report = JSON.parse(cached.stdout);
      assert.equal(report.ok, true);
      assert.equal(report.runs, 6);
      assert.equal(report.concurrency, 3);
      assert.equal(report.peakInFlight, 3);
      assert.equal(report.chainCache, true);
      // The three first runs start before any chain is cached; the rest find it.
      assert.ok(report.chainReads >= 1 && report.chainReads <= 3, `${report.chainReads} reads`);
      assert.ok(report.sessionsPerSecond > 0);
      const requests = report.last.exchanges.map((x: { request: string }) => x.request);
      assert.ok(requests.includes('KEY_EXCHANGE') && requests.includes('END_SESSION'));

      const [text, uncached] = await Promise.all([
        teeio([...base, '--steps', FLOW, '--repeat', '4', '--concurrency', '2', '--chain-cache']),
        teeio([...base, '--steps', FLOW, '--repeat', '2', '--json']),
      ]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        /^4 runs, 2 at a time \(load test\) in [\d.]+ s: [\d.]+ sessions\/s, latency min [\d.]+ ms, median [\d.]+ ms, max [\d.]+ ms$/m,
      );
      assert.match(text.stdout, /^chain cache: the chain was read in [12] of 4 runs$/m);
      assert.match(text.stdout, /^result: every step verified in every run$/m);
      assert.equal(uncached.code, 0, uncached.stderr);
      const plain = JSON.parse(uncached.stdout);
      assert.equal(plain.concurrency, 1);
      assert.equal(plain.peakInFlight, 1);
      assert.equal(plain.chainCache, false);
      assert.equal(plain.chainReads, 2);
    } finally {
      rsp.child.kill('SIGTERM');
    }
    const stopped = await rsp.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /closed \(SIGTERM, 12 connection\(s\) served\)/);
  });

  it('a bad --concurrency is a one-line usage error (2)', async () => {
    const bad = await teeio(['requester', '--connect', '127.0.0.1:1', '--concurrency', '0']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr.trim(), /^teeio requester: --concurrency: "0" is not a count$/);
  });
});
