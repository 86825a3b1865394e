/**
 * The teeio pair as `teeio requester --repeat N` runs it against `teeio responder`: the
 * responder is a child process on the spdm-emu socket (pci_doe, loopback TCP with
 * TCP_NODELAY), the requester runs the CLI's own flow (runFlow: VCA, GET_DIGESTS, the
 * certificate chain, signed MEASUREMENTS of all blocks, KEY_EXCHANGE, FINISH, END_SESSION,
 * P-384 / SHA-384 / AES-256-GCM) over a fresh connection per session. Measured one at a
 * time, with the verified-chain cache (no GET_CERTIFICATE and no chain verification after
 * the first), and two sessions at once (items = sessions); the first two against the crypto
 * floor of the same operations (crypto-floor.ts), side by side.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunParams, runFlow } from '../src/cli/requester.ts';
import { DEFAULT_ALGORITHMS } from '../src/spdm/config.ts';
import { VerifiedChainCache } from '../src/spdm/requester/index.ts';
import { sessionCryptoFloor } from './crypto-floor.ts';
import type { BenchCase, BenchRatio } from './harness.ts';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'teeio.mjs');
const FLOW: RunParams['steps'] = [
  'version',
  'caps',
  'algs',
  'digests',
  'cert',
  'meas',
  'session',
  'end',
];

let responder: { child: ChildProcess; params: RunParams; dir: string } | undefined;
let stopTimer: NodeJS.Timeout | undefined;

/** Starts `teeio responder --port 0` once; later cases reuse it. */
async function startResponder(): Promise<RunParams> {
  clearTimeout(stopTimer);
  if (responder) return responder.params;
  const dir = mkdtempSync(join(tmpdir(), 'teeio-bench-'));
  const root = join(dir, 'root.der');
  const child = spawn(process.execPath, [BIN, 'responder', '--port', '0', '--write-root', root]);
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)[^\n]*\n(?:.*\n)?identity:.*\n/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.on('close', () => fail(new Error(`teeio responder exited: ${out}`)));
  });
  const params: RunParams = {
    host: '127.0.0.1',
    port,
    binding: 'pci_doe',
    steps: FLOW,
    slot: 0,
    timeoutMs: 10_000,
    config: { trustAnchors: [new Uint8Array(readFileSync(root))], algorithms: DEFAULT_ALGORITHMS },
    tsm: { streamId: 0, reportingOffset: 0n, lockFlags: 0 },
  };
  responder = { child, params, dir };
  // A failing case must not leave the responder running after the bench.
  process.once('exit', () => child.kill('SIGTERM'));
  return params;
}

/** Stops the responder unless the next case starts within a second. */
function stopResponderSoon(): void {
  stopTimer = setTimeout(() => {
    if (!responder) return;
    responder.child.kill('SIGTERM');
    rmSync(responder.dir, { recursive: true, force: true });
    responder = undefined;
  }, 1000);
}

async function session(params: RunParams): Promise<void> {
  const r = await runFlow(params);
  if (!r.ok) throw new Error(`bench: session flow failed: ${r.error}`);
}

let plain: RunParams | undefined;
let cached: RunParams | undefined;

const PAIR = 'teeio pair over loopback (pci_doe), one session at a time';
const PAIR_CACHED = 'teeio pair, one at a time, verified-chain cache';
const FLOOR = 'floor: the flow crypto bare with node:crypto';
const FLOOR_CACHED = 'floor: the flow crypto without the chain links';

export const cases: BenchCase[] = [
  {
    group: 'spdm-session',
    name: PAIR,
    before: async () => {
      plain = await startResponder();
    },
    after: stopResponderSoon,
    fn: () => session(plain!),
  },
  {
    group: 'spdm-session',
    name: PAIR_CACHED,
    before: async () => {
      // One cache for the whole case: the first session reads the chain, the rest do not.
      cached = { ...(await startResponder()), chainCache: new VerifiedChainCache() };
      await session(cached);
    },
    after: stopResponderSoon,
    fn: () => session(cached!),
  },
  {
    group: 'spdm-session',
    name: 'teeio pair, 2 sessions at once (load test)',
    items: 2,
    before: async () => {
      plain = await startResponder();
    },
    after: stopResponderSoon,
    fn: () => Promise.all([session(plain!), session(plain!)]),
  },
  { group: 'spdm-session', name: FLOOR, fn: () => sessionCryptoFloor(2) },
  { group: 'spdm-session', name: FLOOR_CACHED, fn: () => sessionCryptoFloor(0) },
];

export const ratios: BenchRatio[] = [
  {
    name: 'teeio pair / crypto floor',
    numerator: `spdm-session/${PAIR}`,
    denominator: `spdm-session/${FLOOR}`,
    target: 1.5,
  },
  {
    name: 'teeio pair with chain cache / its crypto floor',
    numerator: `spdm-session/${PAIR_CACHED}`,
    denominator: `spdm-session/${FLOOR_CACHED}`,
    target: 1.5,
  },
];
