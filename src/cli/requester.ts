/**
 * `teeio requester`: runs an SPDM requester flow (DSP0274 1.0-1.3, DSP0277 sessions)
 * against a responder on the spdm-emu socket (teeio's, libspdm's spdm_responder_emu, ...),
 * prints each exchange on one line (message, size, result), then the negotiated
 * algorithms, the certificate subject, the measurements and the session id. Exit code 0
 * only when every step verified, 1 when one did not (or the peer could not be reached),
 * 2 for a bad command line or file. --repeat N runs the flow over N fresh connections and
 * reports sessions per second and the min / median / max latency of one flow; with
 * --concurrency M, M of those connections run at once (a load test, labelled as such), and
 * --chain-cache shares one verified-chain cache across them, so a run whose DIGESTS names
 * the chain an earlier run verified skips GET_CERTIFICATE.
 */
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { DEFAULT_ALGORITHMS, requesterConfig } from '../spdm/config.ts';
import type { SpdmEvent, VerifyTarget } from '../spdm/events.ts';
import {
  type MeasurementsResult,
  type Negotiated,
  type RequesterSession,
  SpdmErrorResponse,
  SpdmRequester,
  SpdmUsageError,
  SpdmVerifyError,
  VerifiedChainCache,
} from '../spdm/requester/index.ts';
import { connectSpdmEmu } from '../transport/spdm-emu-client.ts';
import { type Binding, TransportError } from '../transport/types.ts';
import { describeSpdm } from '../wire/describe.ts';
import { toHex } from '../wire/hex.ts';
import {
  SPDM_CAP,
  SPDM_DMTF_MEAS_TYPE,
  SPDM_ERROR,
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
  spdmErrorName,
} from '../wire/spdm/constants.ts';
import { formatVersionByte } from '../wire/spdm/version.ts';
import { addCaptureOptions, type Capture, type CaptureCliOptions, openCapture } from './capture.ts';
import {
  type AlgorithmOptions,
  addAlgorithmOptions,
  addLinkOptions,
  algorithmPreferences,
  CliError,
  loadTrust,
  parseHostPort,
  parseVersions,
} from './identity.ts';
import {
  addTsmOptions,
  describeTsmError,
  ideKmStep,
  TSM_STEPS,
  type TsmCliOptions,
  type TsmParams,
  tdispStep,
  tsmParams,
} from './tsm-steps.ts';

export const STEPS = [
  'version',
  'caps',
  'algs',
  'digests',
  'cert',
  'challenge',
  'meas',
  'session',
  'ide-km',
  'tdisp',
  'heartbeat',
  'key-update',
  'end',
] as const;
export type Step = (typeof STEPS)[number];

/** Without --steps: the SPDM flow; the TSM steps need a device that serves IDE_KM / TDISP. */
export const DEFAULT_STEPS: readonly Step[] = STEPS.filter(
  (s) => !(TSM_STEPS as readonly string[]).includes(s),
);

/** What each step needs done before it. */
const NEEDS: Record<Step, Step[]> = {
  version: [],
  caps: ['version'],
  algs: ['caps'],
  digests: ['algs'],
  cert: ['algs'],
  challenge: ['cert'],
  meas: ['cert'],
  session: ['cert'],
  'ide-km': ['session'],
  tdisp: ['ide-km'],
  heartbeat: ['session'],
  'key-update': ['session'],
  end: ['session'],
};

/**
 * The steps to run for a --steps list: the ones named plus what they need, in flow order.
 * @throws CliError for an unknown step name.
 */
export function parseSteps(s: string): Step[] {
  const want = new Set<Step>();
  const add = (step: Step) => {
    if (want.has(step)) return;
    want.add(step);
    for (const n of NEEDS[step]) add(n);
  };
  for (const raw of s.split(',')) {
    const name = raw.trim();
    if (!name) continue;
    if (!(STEPS as readonly string[]).includes(name)) {
      throw new CliError(`--steps: unknown step "${name}" (steps: ${STEPS.join(',')})`);
    }
    add(name as Step);
  }
  if (want.size === 0) throw new CliError('--steps: no step named');
  return STEPS.filter((x) => want.has(x));
}

/** One request and its response, as the trace saw them. */
export interface ExchangeRecord {
  request: string;
  requestSize: number;
  response?: string;
  responseSize?: number;
  sessionId?: number;
  /** Checks made on the response, in order. */
  checks: { what: VerifyTarget; ok: boolean }[];
  /** An ERROR answer or a record that did not open. */
  error?: string;
}

/** The SPDM name, or for vendor-defined messages the IDE_KM / TDISP / CXL message inside. */
function messageName(code: number, name: string, bytes: Uint8Array): string {
  if (code !== SPDM_VENDOR_DEFINED_REQUEST && code !== SPDM_VENDOR_DEFINED_RESPONSE) return name;
  const d = describeSpdm(bytes);
  return d.protocol === 'SPDM' || d.protocol === 'VDM' ? name : d.name;
}

/** Turns the requester's trace into exchange records, each handed over once complete. */
class ExchangeLog {
  readonly records: ExchangeRecord[] = [];
  private current: ExchangeRecord | undefined;

  constructor(private readonly onRecord?: (r: ExchangeRecord) => void) {}

  readonly onEvent = (e: SpdmEvent): void => {
    if (e.type === 'message' && e.direction === 'out') {
      this.flush();
      this.current = {
        request: messageName(e.code, e.name, e.bytes),
        requestSize: e.bytes.length,
        sessionId: e.sessionId,
        checks: [],
      };
      return;
    }
    const c = this.current;
    if (!c) return;
    if (e.type === 'message') {
      c.response = messageName(e.code, e.name, e.bytes);
      c.responseSize = e.bytes.length;
      if (e.code === SPDM_ERROR && e.bytes.length > 2)
        c.error = `ERROR ${spdmErrorName(e.bytes[2])}`;
    } else if (e.type === 'verify') {
      c.checks.push({ what: e.what, ok: e.verdict === 'ok' });
    } else if (e.type === 'record-rejected') {
      c.error = `record rejected (${e.reason})`;
    }
  };

  flush(): void {
    if (!this.current) return;
    this.records.push(this.current);
    this.onRecord?.(this.current);
    this.current = undefined;
  }
}

function exchangeResult(r: ExchangeRecord): string {
  if (r.error) return r.error;
  const failed = r.checks.filter((c) => !c.ok).map((c) => c.what);
  if (failed.length) return `FAILED ${failed.join(', ')}`;
  if (!r.response) return 'no response';
  const ok = [...new Set(r.checks.map((c) => c.what))];
  return ok.length ? `ok (${ok.join(', ')})` : 'ok';
}

export function formatExchange(r: ExchangeRecord): string {
  const req = `${r.request.padEnd(27)} ${String(r.requestSize).padStart(5)} B`;
  const rsp = r.response
    ? `${r.response.padEnd(27)} ${String(r.responseSize).padStart(5)} B`
    : '-'.padEnd(35);
  const sid =
    r.sessionId !== undefined ? `  [session 0x${r.sessionId.toString(16).padStart(8, '0')}]` : '';
  return `${req} -> ${rsp}  ${exchangeResult(r)}${sid}`;
}

const MEAS_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SPDM_DMTF_MEAS_TYPE).map(([k, v]) => [v, k.toLowerCase().replaceAll('_', '-')]),
);

interface RunReport {
  ok: boolean;
  ms: number;
  steps: { step: Step; ok: boolean; error?: string }[];
  exchanges: ExchangeRecord[];
  negotiated?: {
    version: string;
    hash: string;
    asym?: string;
    dhe?: string;
    aead?: string;
    measurementHash?: string;
    handshakeInTheClear: boolean;
  };
  certificate?: { slot: number; subject: string; issuer: string; certificates: number };
  measurements?: { index: number; type: string; raw: boolean; value: string }[];
  sessionId?: string;
  sessionPhase?: string;
  /** One line per TSM step (ide-km, tdisp). */
  tsm?: string[];
  error?: string;
}

interface RequesterCliOptions extends AlgorithmOptions, TsmCliOptions, CaptureCliOptions {
  connect: string;
  trans: Binding;
  ver?: string;
  trust?: string[];
  steps: string;
  json?: boolean;
  repeat: string;
  concurrency: string;
  chainCache?: boolean;
  slot: string;
  timeout: string;
  handshakeInTheClear?: boolean;
}

function describeNegotiated(n: Negotiated): RunReport['negotiated'] {
  const s = n.suite;
  return {
    version: formatVersionByte(n.version),
    hash: s.hash,
    asym: s.asym,
    dhe: s.dhe,
    aead: s.aead,
    measurementHash: s.measurementHash,
    handshakeInTheClear: n.handshakeInTheClear,
  };
}

function describeMeasurements(m: MeasurementsResult): RunReport['measurements'] {
  return m.blocks.map((b) =>
    b.kind === 'dmtf'
      ? {
          index: b.index,
          type: MEAS_TYPE_NAMES[b.valueType] ?? `type-${b.valueType}`,
          raw: b.rawBitStream,
          value: toHex(b.value),
        }
      : {
          index: b.index,
          type: `spec-${b.measurementSpecification}`,
          raw: true,
          value: toHex(b.measurement),
        },
  );
}

/** A failure as one line: what did not verify, the peer's ERROR, or the link. */
function describeError(e: unknown): string {
  if (
    e instanceof SpdmVerifyError ||
    e instanceof SpdmErrorResponse ||
    e instanceof SpdmUsageError ||
    e instanceof TransportError
  ) {
    return e.message;
  }
  const tsm = describeTsmError(e);
  if (tsm !== undefined) return tsm;
  throw e;
}

export interface RunParams {
  host: string;
  port: number;
  binding: Binding;
  steps: Step[];
  slot: number;
  timeoutMs: number;
  config: Omit<Parameters<typeof requesterConfig>[0] & object, 'onEvent'>;
  tsm: TsmParams;
  /** Shared by every run of one command. */
  chainCache?: VerifiedChainCache;
  onRecord?: (r: ExchangeRecord) => void;
  /** --pcap / --keylog: every run's packets and session secrets. */
  capture?: Capture;
}

/** One run of the flow over a fresh connection. Never throws for peer or link failures. */
export async function runFlow(p: RunParams): Promise<RunReport> {
  const log = new ExchangeLog(p.onRecord);
  const report: RunReport = { ok: false, ms: 0, steps: [], exchanges: log.records };
  const t0 = performance.now();
  let transport: Awaited<ReturnType<typeof connectSpdmEmu>>;
  try {
    transport = await connectSpdmEmu({
      host: p.host,
      port: p.port,
      transportType: p.binding,
      timeoutMs: p.timeoutMs,
      onWire: p.capture?.tap,
    });
  } catch (e) {
    report.error = `cannot reach ${p.host}:${p.port}: ${describeError(e)}`;
    return report;
  }
  const config = requesterConfig({
    ...p.config,
    onEvent: log.onEvent,
    onSessionSecrets: p.capture?.onSessionSecrets,
  });
  const r = new SpdmRequester(transport, config, {
    timeoutMs: p.timeoutMs,
    chainCache: p.chainCache,
  });
  let session: RequesterSession | undefined;
  const measCap = () =>
    ((r.negotiated?.peer.flags ?? 0) & (SPDM_CAP.MEAS_CAP_NO_SIG | SPDM_CAP.MEAS_CAP_SIG)) !== 0;
  const summary = () => (measCap() ? 'all' : 'none');
  const act: Record<Step, () => Promise<unknown>> = {
    version: () => r.getVersion(),
    caps: () => r.getCapabilities(),
    algs: async () => {
      const n = await r.negotiateAlgorithms();
      report.negotiated = describeNegotiated(n);
    },
    digests: () => r.getDigests(),
    cert: async () => {
      const c = await r.getCertificate(p.slot);
      report.certificate = {
        slot: c.slot,
        subject: c.subject,
        issuer: c.issuer,
        certificates: c.certificates.length,
      };
    },
    challenge: () => r.challenge(p.slot, summary()),
    meas: async () => {
      report.measurements = describeMeasurements(
        await r.getMeasurements({ index: 'all', slot: p.slot }),
      );
    },
    session: async () => {
      session = await r.startSession({ slot: p.slot, measurementSummaryHash: summary() });
      report.sessionId = `0x${session.id.toString(16).padStart(8, '0')}`;
    },
    'ide-km': async () => {
      const line = await ideKmStep({ requester: r, session: session! }, p.tsm);
      report.tsm = [...(report.tsm ?? []), line];
    },
    tdisp: async () => {
      const line = await tdispStep({ requester: r, session: session! }, p.tsm);
      report.tsm = [...(report.tsm ?? []), line];
    },
    heartbeat: () => r.heartbeat(session!),
    'key-update': () => r.keyUpdate(session!, 'update-all-keys'),
    end: () => r.endSession(session!),
  };
  try {
    for (const step of p.steps) {
      try {
        await act[step]();
        report.steps.push({ step, ok: true });
      } catch (e) {
        const error = describeError(e);
        report.steps.push({ step, ok: false, error });
        report.error = `${step}: ${error}`;
        return report;
      }
    }
    report.ok = true;
    return report;
  } finally {
    log.flush();
    if (session) report.sessionPhase = session.phase;
    await r.close().catch(() => undefined);
    report.ms = performance.now() - t0;
  }
}

function printSummary(report: RunReport): void {
  const n = report.negotiated;
  if (n) {
    const parts = [`SPDM ${n.version}`, n.hash, n.asym, n.dhe, n.aead].filter(Boolean);
    const meas = n.measurementHash ? `, measurements ${n.measurementHash}` : '';
    console.log(
      `negotiated: ${parts.join(', ')}${meas}${n.handshakeInTheClear ? ', handshake in the clear' : ''}`,
    );
  }
  const c = report.certificate;
  if (c) {
    console.log(
      `certificate: slot ${c.slot}, ${c.subject} (issuer ${c.issuer}), ${c.certificates} certificates`,
    );
  }
  for (const m of report.measurements ?? []) {
    const text = m.raw ? Buffer.from(m.value, 'hex').toString('latin1') : '';
    const shown = /^[\x20-\x7e]+$/.test(text) ? ` "${text}"` : '';
    console.log(
      `measurement ${m.index}: ${m.type}, ${m.raw ? 'raw' : 'digest'} ${m.value}${shown}`,
    );
  }
  if (report.sessionId) console.log(`session: ${report.sessionId} (${report.sessionPhase})`);
  for (const line of report.tsm ?? []) console.log(line);
}

/** What the user probably forgot, for the error line. */
function hint(report: RunReport, trustAnchors: Uint8Array[]): string {
  if (
    trustAnchors.length === 0 &&
    /certificate-chain did not verify: wrong-root/.test(report.error ?? '')
  ) {
    return ' (no --trust given)';
  }
  if (/handshake: no server hello|transport-mismatch/.test(report.error ?? '')) {
    return ' (is the responder serving the same --trans?)';
  }
  return '';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function run(o: RequesterCliOptions): Promise<number> {
  const { host, port } = parseHostPort(o.connect);
  const steps = parseSteps(o.steps);
  const versions = parseVersions(o.ver);
  const repeat = Number(o.repeat);
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new CliError(`--repeat: "${o.repeat}" is not a count`);
  const concurrency = Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new CliError(`--concurrency: "${o.concurrency}" is not a count`);
  const slot = Number(o.slot);
  if (!Number.isInteger(slot) || slot < 0 || slot > 7)
    throw new CliError(`--slot: "${o.slot}" is not 0..7`);
  const timeoutMs = Number(o.timeout);
  if (!(timeoutMs > 0)) throw new CliError(`--timeout: "${o.timeout}" is not a number of ms`);
  const trustAnchors = (o.trust ?? []).flatMap(loadTrust);
  const base = requesterConfig({ ...(versions ? { versions } : {}) });
  const config = {
    ...(versions ? { versions } : {}),
    trustAnchors,
    algorithms: { ...DEFAULT_ALGORITHMS, ...algorithmPreferences(o) },
    capabilities: o.handshakeInTheClear
      ? base.capabilities | SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP
      : base.capabilities,
  };
  const tsm = tsmParams(o, steps);
  if (o.pcap && concurrency > 1) {
    throw new CliError(
      '--pcap: flows running at once would interleave in one capture; drop --concurrency',
    );
  }
  const capture = openCapture(o, o.trans);
  try {
    return await runWith(
      o,
      { trustAnchors, repeat, concurrency },
      {
        host,
        port,
        binding: o.trans,
        steps,
        slot,
        timeoutMs,
        config,
        tsm,
        chainCache: o.chainCache ? new VerifiedChainCache() : undefined,
        capture,
      },
    );
  } finally {
    capture.close();
  }
}

async function runWith(
  o: RequesterCliOptions,
  {
    trustAnchors,
    repeat,
    concurrency,
  }: { trustAnchors: Uint8Array[]; repeat: number; concurrency: number },
  params: RunParams,
): Promise<number> {
  if (repeat === 1) {
    const onRecord = o.json ? undefined : (r: ExchangeRecord) => console.log(formatExchange(r));
    const report = await runFlow({ ...params, onRecord });
    if (o.json) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      printSummary(report);
      console.log(
        report.ok ? `result: every step verified (${report.ms.toFixed(1)} ms)` : `result: FAILED`,
      );
    }
    if (!report.ok) console.error(`teeio requester: ${report.error}${hint(report, trustAnchors)}`);
    return report.ok ? 0 : 1;
  }

  const latencies: number[] = [];
  let started = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let chainReads = 0;
  let failed: { run: number; report: RunReport } | undefined;
  let last: RunReport | undefined;
  // Each worker runs flows one after another until `repeat` have started or one failed.
  const worker = async () => {
    while (!failed && started < repeat) {
      const run = ++started;
      peakInFlight = Math.max(peakInFlight, ++inFlight);
      const report = await runFlow(params);
      inFlight--;
      if (!report.ok) {
        failed ??= { run, report };
        return;
      }
      latencies.push(report.ms);
      if (report.exchanges.some((x) => x.request === 'GET_CERTIFICATE')) chainReads++;
      last = report;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, repeat) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  if (failed) {
    const { run, report } = failed;
    if (o.json) console.log(JSON.stringify({ run, ...report }, null, 2));
    console.error(
      `teeio requester: run ${run} of ${repeat}: ${report.error}${hint(report, trustAnchors)}`,
    );
    return 1;
  }
  const stats = {
    runs: repeat,
    /** Runs in flight at once: 1 is the one-at-a-time figure, more a load test. */
    concurrency,
    peakInFlight,
    chainCache: params.chainCache !== undefined,
    /** Runs that read the chain with GET_CERTIFICATE (all of them without the cache). */
    chainReads,
    sessionsPerSecond: repeat / seconds,
    latencyMs: {
      min: Math.min(...latencies),
      median: median(latencies),
      max: Math.max(...latencies),
    },
  };
  if (o.json) {
    console.log(JSON.stringify({ ok: true, ...stats, last }, null, 2));
  } else {
    if (last) printSummary(last);
    const l = stats.latencyMs;
    const mode = concurrency > 1 ? `, ${concurrency} at a time (load test)` : '';
    console.log(
      `${repeat} runs${mode} in ${seconds.toFixed(2)} s: ${stats.sessionsPerSecond.toFixed(1)} sessions/s, latency min ${l.min.toFixed(2)} ms, median ${l.median.toFixed(2)} ms, max ${l.max.toFixed(2)} ms`,
    );
    if (stats.chainCache) {
      console.log(`chain cache: the chain was read in ${chainReads} of ${repeat} runs`);
    }
    console.log('result: every step verified in every run');
  }
  return 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('requester')
    .description('run an SPDM requester flow against a responder on the spdm-emu socket')
    .requiredOption('--connect <host:port>', 'the responder, e.g. 127.0.0.1:2323');
  addLinkOptions(cmd);
  cmd
    .option(
      '--trust <file>',
      'trusted root certificate(s), DER or PEM (repeatable)',
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option('--steps <list>', `steps to run (of ${STEPS.join(',')})`, DEFAULT_STEPS.join(','))
    .option('--slot <n>', 'certificate slot', '0')
    .option('--json', 'print one JSON report instead of text')
    .option('--repeat <n>', 'run the flow n times over fresh connections', '1')
    .option('--concurrency <n>', 'with --repeat: run n of the flows at once (a load test)', '1')
    .option(
      '--chain-cache',
      'keep verified chains across the --repeat runs: skip GET_CERTIFICATE when DIGESTS names one',
    )
    .option('--timeout <ms>', 'deadline per exchange', '10000')
    .option('--handshake-in-the-clear', 'set HANDSHAKE_IN_THE_CLEAR_CAP');
  addAlgorithmOptions(cmd);
  addTsmOptions(cmd);
  addCaptureOptions(cmd);
  cmd.action(async (o: RequesterCliOptions) => {
    process.exitCode = await run(o);
  });
}
