/**
 * The soak loop behind scripts/soak.ts and test/hardening/soak.test.ts: starts `teeio device`
 * (or `teeio responder`) from the sources as a child, runs honest and hostile clients against
 * it for a time, and measures sessions, failures, session latency, and the child's RSS and
 * descriptors (from /proc) before and after.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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
  hostileRuns: number;
  failures: Map<string, number>;
  honestFailures: number;
  latencyMs: { p50: number; p99: number; max: number };
  rssKb: { before: number; after: number; series: number[] };
  /** after / before - 1 */
  rssGrowth: number;
  rssFlat: boolean;
  fds: { before: number; after: number };
  fdsBack: boolean;
  exitCode: number | null;
}

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
  child.stderr.on('data', (d) => {
    out += d;
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

  /** The server's resident set (kB) and open descriptors, from /proc. */
  function usage(): { rssKb: number; fds: number } {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { rssKb, fds: readdirSync(`/proc/${child.pid}/fd`).length };
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const failures = new Map<string, number>();
  const fail = (kind: string) => failures.set(kind, (failures.get(kind) ?? 0) + 1);
  let sessions = 0;
  let hostileRuns = 0;
  let latencies: number[] = [];

  async function honestSession(): Promise<void> {
    const client = await connectSpdmEmu({ port, transportType: 'pci_doe', timeoutMs: 10_000 });
    const rq = new SpdmRequester(client, requesterConfig({ trustAnchors: [root] }));
    const t = performance.now();
    try {
      await rq.connect();
      await rq.getDigests();
      await rq.getCertificate(0);
      const s = await rq.startSession();
      await rq.getMeasurements({ session: s });
      await rq.endSession(s);
      sessions++;
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
    await Promise.all(Array.from({ length: Math.min(clients, 16) }, () => honestSession()));
  }
  sessions = 0;
  latencies = [];
  await sleep(200);
  const before = usage();
  const until = Date.now() + seconds * 1000;
  // RSS every 10 s: a plateau is the heap settling, a steady climb a leak.
  const series: number[] = [];
  const sampler = setInterval(() => series.push(usage().rssKb), 10_000);
  const t0 = Date.now();
  const honest = Array.from({ length: clients }, async () => {
    while (Date.now() < until) {
      try {
        await honestSession();
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
  child.kill('SIGTERM');
  const code = await exited;

  const honestFailures = [...failures]
    .filter(([k]) => k.startsWith('honest'))
    .reduce((n, [, c]) => n + c, 0);
  const rssGrowth = after.rssKb / before.rssKb - 1;
  return {
    elapsed,
    sessions,
    hostileRuns,
    failures,
    honestFailures,
    latencyMs: {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: quantile(latencies, 1),
    },
    rssKb: { before: before.rssKb, after: after.rssKb, series },
    rssGrowth,
    rssFlat: Math.abs(rssGrowth) <= 0.1,
    fds: { before: before.fds, after: after.fds },
    fdsBack: after.fds <= before.fds,
    exitCode: code,
  };
}
