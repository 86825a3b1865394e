/**
 * `teeio conformance`: runs the conformance suite (src/conformance) against a responder on
 * the spdm-emu socket and prints each case as it ends, grouped, then "N passed, N failed,
 * N skipped" (", N expected deviations" with --profile). --json prints the results as JSON
 * instead; --junit also writes JUnit XML. --profile NAME names the responder's known
 * deviations (src/conformance/profiles): a listed case that fails is an expected deviation,
 * not a failure. Exit code 0 when no case failed, 1 when one did, 2 for a bad command line.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Target } from '../conformance/index.ts';
import {
  jsonReport,
  junitReport,
  PROFILES,
  runConformance,
  selectCases,
  statusTag,
  textReport,
} from '../conformance/index.ts';
import type { Binding } from '../transport/types.ts';
import { about, examples } from './commands.ts';
import { addLinkOptions, CliError, loadTrust, parseHostPort, parseVersions } from './identity.ts';
import { parseTdi } from './tsm-steps.ts';

interface ConformanceCliOptions {
  connect: string;
  trans: Binding;
  ver?: string;
  trust?: string;
  tdi?: string;
  ideStream: string;
  only?: string;
  profile?: string;
  psk?: string;
  maxWait: string;
  junit?: string;
  json?: boolean;
  timeout: string;
}

function byte(option: string, s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 255)
    throw new CliError(`${option}: "${s}" is not 0..255`);
  return n;
}

/** --psk HINT:KEY, both in hex. */
function parsePsk(s: string): { hint: Uint8Array; key: Uint8Array } {
  const m = /^([0-9a-fA-F]*):([0-9a-fA-F]+)$/.exec(s);
  if (!m || m[1].length % 2 !== 0 || m[2].length % 2 !== 0) {
    throw new CliError(`--psk: "${s}" is not HINT:KEY in hex`);
  }
  return { hint: Buffer.from(m[1], 'hex'), key: Buffer.from(m[2], 'hex') };
}

async function run(o: ConformanceCliOptions): Promise<void> {
  const { host, port } = parseHostPort(o.connect);
  const versions = parseVersions(o.ver);
  const timeoutMs = Number(o.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100)
    throw new CliError(`--timeout: "${o.timeout}" is not a number of ms >= 100`);
  const maxWaitMs = Number(o.maxWait);
  if (!Number.isInteger(maxWaitMs) || maxWaitMs < 0)
    throw new CliError(`--max-wait: "${o.maxWait}" is not a number of ms`);
  const target: Target = {
    host,
    port,
    binding: o.trans,
    ...(versions ? { versions } : {}),
    trust: o.trust ? loadTrust(o.trust) : [],
    ...(o.tdi !== undefined ? { tdi: parseTdi(o.tdi) } : {}),
    streamId: byte('--ide-stream', o.ideStream),
    portIndex: 0,
    timeoutMs,
    silenceMs: Math.min(1000, timeoutMs),
    ...(o.psk !== undefined ? { psk: parsePsk(o.psk) } : {}),
    maxWaitMs,
  };
  if (selectCases(o.only).length === 0) throw new CliError(`--only: "${o.only}" matches no case`);
  const profile = o.profile === undefined ? undefined : PROFILES[o.profile];
  if (o.profile !== undefined && profile === undefined) {
    throw new CliError(
      `--profile: no profile "${o.profile}" (known: ${Object.keys(PROFILES).join(', ')})`,
    );
  }
  const header = `teeio conformance: ${host}:${port} (${o.trans}${o.ver ? `, SPDM ${o.ver}` : ''})${o.tdi ? `, tdi ${o.tdi}` : ', no --tdi: TDISP cases skip'}${profile ? `, profile ${profile.name}` : ''}`;
  if (!o.json) console.log(`${header}\n`);
  const results = await runConformance(target, {
    only: o.only,
    ...(profile ? { profile } : {}),
    onResult: o.json ? undefined : (r) => console.log(`${statusTag(r.outcome)}  ${r.id}`),
  });
  if (o.junit) {
    try {
      writeFileSync(o.junit, junitReport(results));
    } catch (e) {
      throw new CliError(`--junit ${o.junit}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (o.json)
    console.log(
      jsonReport(results, {
        host,
        port,
        transport: o.trans,
        versions: o.ver ?? null,
        tdi: o.tdi ?? null,
        profile: profile?.name ?? null,
      }),
    );
  else console.log(`\n${textReport(results, profile ? { profile: profile.name } : {})}`);
  if (results.some((r) => r.outcome.status === 'fail')) process.exitCode = 1;
}

export function register(program: Command): void {
  const cmd = program
    .command('conformance')
    .description(about('conformance'))
    .addHelpText(
      'after',
      examples(
        ['teeio conformance --connect 127.0.0.1:2323', 'every case against a responder'],
        ['teeio conformance --connect 127.0.0.1:2323 --tdi 1 --only tdisp', 'the TDISP cases'],
        ['teeio conformance --connect 127.0.0.1:2323 --json --junit results.xml'],
      ),
    )
    .requiredOption('--connect <host:port>', 'the responder');
  addLinkOptions(cmd);
  cmd
    .option(
      '--trust <file>',
      'root certificate(s) (DER or PEM); default: the root the responder presents',
    )
    .option(
      '--tdi <id>',
      'the TDI the TDISP cases drive: a function number or an interface id (0x...)',
    )
    .option('--ide-stream <id>', 'IDE stream the IDE_KM and TDISP cases key', '0')
    .option(
      '--only <globs>',
      'run only the cases whose id matches (comma-separated, * wildcard, a group name)',
    )
    .option(
      '--profile <name>',
      `the responder's known deviations: listed failures are expected deviations (${Object.keys(PROFILES).join(', ')})`,
    )
    .option('--junit <file>', 'also write the results as JUnit XML')
    .option('--json', 'print the results as JSON instead of text')
    .option('--timeout <ms>', 'deadline of each exchange', '5000')
    .option('--psk <hint:key>', 'a pre-shared key the responder knows (hex), for the PSK cases')
    .option(
      '--max-wait <ms>',
      'longest a case may wait on purpose (twice the HeartbeatPeriod); longer cases skip',
      '5000',
    )
    .action(run);
}
