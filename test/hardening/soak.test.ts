/**
 * Issue 15: the soak inside npm test. A `teeio device` child started by the test (from the
 * sources) serves 8 honest clients, each running whole sessions in a loop (VCA, the chain
 * verified, KEY_EXCHANGE + FINISH, measurements, IDE_KM keys for its own stream and, for the
 * first four, a TDI through TDISP LOCK, report, START and STOP, all in the session, then
 * END_SESSION), beside 4 hostile ones (random frames, cut frames, a lying PayloadSize,
 * pipelined floods dropped with a reset, silent connections, sessions abandoned mid-way) for
 * 30 s, then checks: no honest session failed, the server's open descriptors are back to their
 * baseline, its RSS after a full GC is within 10% of the warmed baseline (10% into the load;
 * scripts/soak-run.ts says why RSS is compared that way), the heap it retains after a full GC
 * grew by less than 10%, and it exits 0 on SIGTERM. The long run is `npm run soak -- --clients
 * 64 --time 600` (scripts/soak.ts, same loop).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak } from '../../scripts/soak-run.ts';

describe('soak: teeio device under honest and hostile clients', () => {
  it('30 s, 8 honest (IDE_KM, TDISP) + 4 hostile clients: no honest failure, no leak, memory flat', async () => {
    const r = await runSoak({ clients: 8, seconds: 30, hostile: 4, command: 'device' });
    const report = JSON.stringify({
      sessions: r.sessions,
      ideKm: r.ideKmSessions,
      tdisp: r.tdispSessions,
      hostile: r.hostileRuns,
      failures: [...r.failures],
      latencyMs: r.latencyMs,
      rssKb: r.rssKb,
      heapKb: r.heapKb,
      fds: r.fds,
    });
    assert.ok(r.sessions > 0, report);
    // Every session keys its own IDE stream; the first four clients also run a TDI through
    // LOCK, report, START and STOP (the nic profile has four).
    assert.equal(r.ideKmSessions, r.sessions, report);
    assert.ok(r.tdispSessions > 0 && r.tdispSessions < r.sessions, report);
    assert.ok(r.hostileRuns > 0, report);
    assert.equal(r.honestFailures, 0, report);
    assert.ok(r.fdsBack, `descriptors ${r.fds.before} -> ${r.fds.after}: ${report}`);
    assert.ok(r.rssFlat, `RSS after GC ${(r.rssGrowth * 100).toFixed(1)}% from warm: ${report}`);
    assert.ok(r.heapGrowth < 0.1, `heap after GC +${(r.heapGrowth * 100).toFixed(1)}%: ${report}`);
    assert.equal(r.exitCode, 0, report);
    if (process.env.TEEIO_SOAK_VERBOSE) console.log(report);
  });
});
