/**
 * Soak: `npm run soak -- [--clients N] [--time T] [--hostile H] [--command device|responder]`
 * (`--seconds T` is the same as `--time T`). Starts `teeio device` (or `teeio responder`) as a child,
 * runs N requesters in a loop for T seconds (each iteration a fresh connection: VCA, the
 * chain verified against the device's root, KEY_EXCHANGE + FINISH, measurements in the
 * session, END_SESSION, close) beside H hostile clients (random frames, frames cut in half
 * and abandoned, a lying PayloadSize, pipelined floods dropped with a reset, silent
 * connections, valid sessions abandoned mid-way), then prints the sessions completed, the
 * failures by kind, the p50/p99 latency of an honest session, the server's memory and its
 * open descriptors before and after (from /proc), with two verdicts: RSS flat (within 10%)
 * and descriptors back to baseline. RSS is compared after a full GC in the server, from a
 * warmed baseline 10% into the load to the end (the GC forced through a probe loaded into
 * the child; soak-run.ts says why), beside heapUsed after a full GC (what the server
 * retains) and the RSS sawtooth as it was. The loop itself is runSoak (scripts/soak-run.ts),
 * which test/hardening/soak.test.ts runs for 30 s inside npm test. Exit code 1 when an
 * honest session failed, RSS was not flat, descriptors leaked, or the server did not exit 0
 * on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { runSoak } from './soak-run.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '8' },
    time: { type: 'string' },
    seconds: { type: 'string' },
    hostile: { type: 'string', default: '4' },
    command: { type: 'string', default: 'device' },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.time ?? values.seconds ?? '30');
const hostile = Number(values.hostile);
const command = values.command;
if (command !== 'device' && command !== 'responder') {
  console.error(`--command ${command}: device or responder`);
  process.exit(2);
}
if (!(clients > 0) || !(seconds > 0) || !(hostile >= 0)) {
  console.error('--clients and --time must be positive, --hostile not negative');
  process.exit(2);
}

const r = await runSoak({ clients, seconds, hostile, command });
const ms = (x: number) => `${x.toFixed(1)} ms`;
console.log(
  `teeio ${command} soak: ${clients} honest clients, ${hostile} hostile, ${r.elapsed.toFixed(1)} s`,
);
console.log(`sessions completed: ${r.sessions} (${(r.sessions / r.elapsed).toFixed(1)}/s)`);
if (r.ideKmSessions > 0) {
  console.log(
    `  with IDE_KM (a stream keyed): ${r.ideKmSessions}; with a TDISP lock, report, start and stop: ${r.tdispSessions}`,
  );
}
console.log(
  `session latency: p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)}`,
);
console.log(`hostile visits: ${r.hostileRuns}`);
console.log(
  `failures: ${r.failures.size ? [...r.failures].map(([k, n]) => `${n} x ${k}`).join('; ') : 'none'}`,
);
const mb = (k: number) => `${(k / 1024).toFixed(1)} MB`;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
console.log(
  `server RSS after a full GC: ${mb(r.rssKb.warm)} at the warm baseline (10% in), ${mb(r.rssKb.after)} at the end (${pct(r.rssGrowth)}): ${r.rssFlat ? 'flat within 10%' : 'NOT flat within 10%'}`,
);
console.log(
  `server heapUsed after a full GC: ${mb(r.heapKb.before)} before the load, ${mb(r.heapKb.warm)} warm, ${mb(r.heapKb.after)} at the end (${pct(r.heapGrowth)})`,
);
console.log(
  `server RSS as it was (no forced GC): ${mb(r.rssKb.before)} before the load, peak ${mb(Math.max(r.rssKb.before, ...r.rssKb.series))}; every ${Math.min(10, seconds / 10)} s (kB): ${r.rssKb.series.join(', ')}`,
);
console.log(
  `server descriptors: ${r.fds.before} before, ${r.fds.after} after: ${r.fdsBack ? 'back to baseline' : 'LEAKED'}`,
);
console.log(`server exit on SIGTERM: ${r.exitCode}`);
process.exit(r.honestFailures === 0 && r.rssFlat && r.fdsBack && r.exitCode === 0 ? 0 : 1);
