/**
 * The soak loop behind scripts/soak.ts and test/hardening/soak.test.ts: starts `teeio device`
 * (or `teeio responder`) from the sources as a child, runs honest and hostile clients against
 * it for a time, and measures sessions, failures, session latency, and the child's memory and
 * descriptors.
 *
 * Memory, and why it is measured this way: the server's RSS under load is a sawtooth, not a
 * line. V8 lets the heap grow between major collections (more so with 64 sessions allocating
 * at once), so RSS read at two arbitrary moments can differ by 20-40% with nothing retained:
 * a 64-client run without forced collections went 150 -> 175 MB and back to 144 MB, while
 * heap snapshots at every sample held the same objects (sockets, responders, sessions back
 * to their baseline at the end; heapUsed after a full GC flat at 18-20 MB). So the verdict
 * compares like with like: RSS after a full GC in the server (the probe, soak-probe.mjs) at a
 * warmed baseline, 10% into the load, and at the end, after the settle. heapUsed after a full
 * GC is the second figure (what the server retains); RSS before the load and RSS every
 * interval without forced collections (the sawtooth, and its peak) are reported beside.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ideKmStep, parseBars, parseTdi, type TsmParams, tdispStep } from '../src/cli/tsm-steps.ts';
import { DEFAULT_LOCK_FLAGS } from '../src/platform/tsm/index.ts';
import { requesterConfig } from '../src/spdm/config.ts';
import { SpdmRequester } from '../src/spdm/requester/requester.ts';
import { connectSpdmEmu } from '../src/transport/spdm-emu-client.ts';
import {
  encodeFrame,
  SOCKET_CLIENT_HELLO,
  SOCKET_SPDM_COMMAND_NORMAL,
  SOCKET_SPDM_COMMAND_TEST,
} from '../src/wire/socket.ts';

export interface SoakOptions {
  clients: number;
  seconds: number;
  hostile: number;
  command: 'device' | 'responder';
  /** How long to wait after the load for the idle timeout to close what hostile clients left. */
  settleMs?: number;
}

export interface SoakResult {
  elapsed: number;
  sessions: number;
  /**
   * Of those, sessions that also keyed an IDE stream (IDE_KM QUERY, KEY_PROG and K_SET_GO of
   * the client's own stream: every session on `teeio device`, for the first 256 clients) and
   * took a TDI through TDISP LOCK, report, START and STOP (the first honest clients, one TDI
   * each: a TDI is locked by one session at a time).
   */
  ideKmSessions: number;
  tdispSessions: number;
  hostileRuns: number;
  failures: Map<string, number>;
  honestFailures: number;
  latencyMs: { p50: number; p99: number; max: number };
  /**
   * The server's RSS: `before` the load, at the `warm` baseline (10% into it) and `after` it
   * (both after a full GC), and `series` every interval as it was (no forced GC).
   */
  rssKb: { before: number; warm: number; after: number; series: number[] };
  /** The server's heapUsed after a full GC: before the load, at the warm baseline, after. */
  heapKb: { before: number; warm: number; after: number };
  /** rssKb.after / rssKb.warm - 1 */
  rssGrowth: number;
  /** |rssGrowth| <= 10% */
  rssFlat: boolean;
  /** heapKb.after / heapKb.warm - 1 */
  heapGrowth: number;
  fds: { before: number; after: number };
  fdsBack: boolean;
  exitCode: number | null;
}

const kb = (bytes: number) => Math.round(bytes / 1024);

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** Runs one soak against a fresh `teeio device|responder` child (the sources, not dist/). */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const { clients, seconds, hostile } = o;
  const dir = mkdtempSync(join(tmpdir(), 'teeio-soak-'));
  const rootFile = join(dir, 'root.der');
  const child = spawn(
    process.execPath,
    [
      // The probe: a full GC and the heap figures on SIGUSR2 (soak-probe.mjs).
      '--expose-gc',
      '--import',
      new URL('./soak-probe.mjs', import.meta.url).href,
      ...(process.env.TEEIO_SOAK_NODE_OPTIONS?.split(' ').filter(Boolean) ?? []),
      resolve('bin/teeio.mjs'),
      o.command,
      '--port',
      '0',
      '--write-root',
      rootFile,
      '--max-connections',
      '1024',
      '--idle-timeout',
      '2',
    ],
    { env: { ...process.env, TEEIO_FROM_SOURCE: '1' } },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  // stderr carries the probe's lines; the rest is kept for error messages.
  let errLine = '';
  const probes: ((m: NodeJS.MemoryUsage) => void)[] = [];
  child.stderr.on('data', (d) => {
    errLine += d;
    const lines = errLine.split('\n');
    errLine = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith('soak-probe ')) probes.shift()?.(JSON.parse(l.slice(11)));
      else out += `${l}\n`;
    }
  });
  const exited = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
  const port = await new Promise<number>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no listening line: ${out}`)), 30_000);
    const look = () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    };
    child.stdout.on('data', look);
  });
  const root = new Uint8Array(readFileSync(rootFile));
  // `teeio device` prints its TDIs as `tdi fn=.. interface-id=0x.. bars=b:addr:size,...`.
  const tdis: TsmParams[] = [...out.matchAll(/interface-id=(0x[0-9a-f]+) bars=(\S+)/g)].map(
    (m) => ({
      tdi: parseTdi(m[1]),
      bars: parseBars(m[2]),
      streamId: 0,
      reportingOffset: 0n,
      lockFlags: DEFAULT_LOCK_FLAGS,
    }),
  );
  const tsm = o.command === 'device';

  /** The server's resident set (kB) and open descriptors, from /proc. */
  function usage(): { rssKb: number; fds: number } {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { rssKb, fds: readdirSync(`/proc/${child.pid}/fd`).length };
  }

  /** The server's memory after a full GC (the probe's answer to SIGUSR2), in kB. */
  function afterGc(): Promise<{ rssKb: number; heapKb: number }> {
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('no answer from the memory probe')), 10_000);
      probes.push((m) => {
        clearTimeout(timer);
        ok({ rssKb: kb(m.rss), heapKb: kb(m.heapUsed) });
      });
      child.kill('SIGUSR2');
    });
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const failures = new Map<string, number>();
  const fail = (kind: string) => failures.set(kind, (failures.get(kind) ?? 0) + 1);
  let sessions = 0;
  let ideKmSessions = 0;
  let tdispSessions = 0;
  let hostileRuns = 0;
  let latencies: number[] = [];

  /** One whole session; client `k` < the TDI count also runs TDISP on TDI `k`. */
  async function honestSession(k: number): Promise<void> {
    const client = await connectSpdmEmu({ port, transportType: 'pci_doe', timeoutMs: 10_000 });
    const rq = new SpdmRequester(client, requesterConfig({ trustAnchors: [root] }));
    const t = performance.now();
    try {
      await rq.connect();
      await rq.getDigests();
      await rq.getCertificate(0);
      const s = await rq.startSession();
      await rq.getMeasurements({ session: s });
      // A stream's keys belong to the session that programmed them until it ends, so each
      // client keys its own stream (ids 0..255), and LOCK names it.
      const ide = tsm && k < 256;
      const mine = ide ? tdis[k] : undefined;
      const ch = { requester: rq, session: s };
      if (ide) await ideKmStep(ch, { ...(mine ?? tdis[0]), streamId: k });
      if (mine) await tdispStep(ch, { ...mine, streamId: k });
      await rq.endSession(s);
      sessions++;
      if (ide) ideKmSessions++;
      if (mine) tdispSessions++;
      latencies.push(performance.now() - t);
    } finally {
      await rq.close().catch(() => undefined);
    }
  }

  async function raw(): Promise<Socket> {
    const sock = connect({ host: '127.0.0.1', port });
    sock.on('error', () => {});
    sock.on('data', () => {});
    await once(sock, 'connect');
    return sock;
  }

  const frame = (command: number, payload: Uint8Array) =>
    encodeFrame({ command, transportType: 2, payload });
  const hello = frame(SOCKET_SPDM_COMMAND_TEST, SOCKET_CLIENT_HELLO);

  /** One hostile visit, chosen at random. */
  async function hostileVisit(): Promise<void> {
    const kind = Math.floor(Math.random() * 6);
    if (kind === 5) {
      // A valid session abandoned before FINISH's answer is read: the socket just goes.
      const client = await connectSpdmEmu({ port, transportType: 'pci_doe' });
      const rq = new SpdmRequester(client, requesterConfig({ trustAnchors: [root] }));
      await rq.connect();
      await rq.getDigests();
      await rq.getCertificate(0);
      void rq.startSession().catch(() => undefined);
      await sleep(5);
      (client as unknown as { close(): Promise<void> }).close().catch(() => undefined);
      return;
    }
    const sock = await raw();
    switch (kind) {
      case 0: // random frames
        sock.write(hello);
        for (let i = 0; i < 20; i++) {
          sock.write(
            frame(SOCKET_SPDM_COMMAND_NORMAL, new Uint8Array(randomBytes(1 + ((i * 7) % 200)))),
          );
        }
        await sleep(20);
        sock.end();
        break;
      case 1: {
        // a frame cut in half, then silence until the idle timeout, then a reset
        const f = frame(SOCKET_SPDM_COMMAND_NORMAL, new Uint8Array(64));
        sock.write(f.subarray(0, 30));
        await sleep(300);
        sock.destroy();
        break;
      }
      case 2: {
        // a PayloadSize of 4 GiB - 1
        const h = new Uint8Array(12);
        new DataView(h.buffer).setUint32(0, SOCKET_SPDM_COMMAND_NORMAL);
        new DataView(h.buffer).setUint32(4, 2);
        new DataView(h.buffer).setUint32(8, 0xffffffff);
        sock.write(h);
        await sleep(20);
        sock.destroy();
        break;
      }
      case 3: {
        // a pipelined flood of GET_VERSION, dropped with a reset
        const doe = Uint8Array.of(1, 0, 1, 0, 3, 0, 0, 0, 0x10, 0x84, 0, 0);
        const one = frame(SOCKET_SPDM_COMMAND_NORMAL, doe);
        const many = new Uint8Array(one.length * 2000);
        for (let i = 0; i < 2000; i++) many.set(one, i * one.length);
        sock.write(hello);
        sock.write(many);
        await sleep(10);
        sock.resetAndDestroy();
        break;
      }
      default:
        // connect and say nothing (the idle timeout closes it)
        await sleep(100);
        sock.destroy();
    }
  }

  // Warm up (two rounds of `clients` concurrent sessions, so the baseline holds the heap,
  // code and buffers that concurrent sessions need, not only the first one's), then measure.
  for (let round = 0; round < 2; round++) {
    await Promise.all(Array.from({ length: Math.min(clients, 16) }, (_, k) => honestSession(k)));
  }
  sessions = 0;
  ideKmSessions = 0;
  tdispSessions = 0;
  latencies = [];
  await sleep(200);
  const before = usage();
  const gcBefore = await afterGc();
  const until = Date.now() + seconds * 1000;
  // RSS as it is, ten times a run (at most every 10 s), and the warm baseline 10% in.
  const series: number[] = [];
  const sampler = setInterval(
    () => {
      try {
        series.push(usage().rssKb);
      } catch {
        // the server is gone: the failures say why
      }
    },
    Math.min(10_000, seconds * 100),
  );
  const warm = sleep(seconds * 100).then(() => afterGc());
  warm.catch(() => undefined); // awaited below, after the load
  const t0 = Date.now();
  const honest = Array.from({ length: clients }, async (_, k) => {
    while (Date.now() < until) {
      try {
        await honestSession(k);
      } catch (e) {
        fail(`honest: ${(e as Error).name}: ${(e as Error).message.slice(0, 80)}`);
      }
    }
  });
  const hostiles = Array.from({ length: hostile }, async () => {
    while (Date.now() < until) {
      try {
        await hostileVisit();
      } catch (e) {
        fail(`hostile (expected to fail at times): ${(e as Error).name}`);
      }
      hostileRuns++;
    }
  });
  await Promise.all([...honest, ...hostiles]);
  const elapsed = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  // Let the idle timeout (2 s) close what hostile clients left open, then measure again.
  await sleep(o.settleMs ?? 3000);
  const after = usage();
  const gcWarm = await warm;
  const gcAfter = await afterGc();
  child.kill('SIGTERM');
  const code = await exited;

  const honestFailures = [...failures]
    .filter(([k]) => k.startsWith('honest'))
    .reduce((n, [, c]) => n + c, 0);
  const rssGrowth = gcAfter.rssKb / gcWarm.rssKb - 1;
  return {
    elapsed,
    sessions,
    ideKmSessions,
    tdispSessions,
    hostileRuns,
    failures,
    honestFailures,
    latencyMs: {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: quantile(latencies, 1),
    },
    rssKb: { before: before.rssKb, warm: gcWarm.rssKb, after: gcAfter.rssKb, series },
    heapKb: { before: gcBefore.heapKb, warm: gcWarm.heapKb, after: gcAfter.heapKb },
    rssGrowth,
    rssFlat: Math.abs(rssGrowth) <= 0.1,
    heapGrowth: gcAfter.heapKb / gcWarm.heapKb - 1,
    fds: { before: before.fds, after: after.fds },
    fdsBack: after.fds <= before.fds,
    exitCode: code,
  };
}
