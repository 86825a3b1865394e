/**
 * `teeio demo`: the main job on the built-in default scenario. Runs one TDI's whole TDISP
 * lifecycle (world/lifecycle.ts) in-process, TSM against teeio's device through the DOE
 * mailbox registers, and prints the trace: every SPDM / IDE_KM / TDISP message, what the
 * DSM did, what the host did, and the security checks. Exit code 0 only when every check held.
 */
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { BEHAVIOURS, type BehaviourName } from '../device/dsm/behaviour.ts';
import { describeDsmEvent, isDsmRequestEvent } from '../device/dsm/describe.ts';
import type { TraceRecord } from '../world/trace.ts';
import { about, examples } from './commands.ts';

// The world, the profiles (zod, yaml) and the certificates (@peculiar/x509) load when the
// demo runs, not for `teeio demo --help`.

export const DEMO_FLAVOURS = ['tdx', 'sev', 'cca'] as const;
export type DemoFlavour = (typeof DEMO_FLAVOURS)[number];

interface DemoOptions {
  profile: string;
  tdi?: string;
  seed?: string;
  behaviour: BehaviourName;
  json?: boolean;
  pcap?: string;
  keylog?: string;
  html?: string;
  trace?: string;
  quiet?: boolean;
  flavour: DemoFlavour;
  tdispOnly?: boolean;
}

export function formatRecord(r: TraceRecord, n: number): string | undefined {
  switch (r.kind) {
    case 'step':
      return `\n== ${r.title}`;
    case 'spdm': {
      const d = r.description;
      const arrow = r.direction === 'to-device' ? 'TSM -> DSM' : 'DSM -> TSM';
      const sid = r.sessionId === undefined ? '' : `  [session 0x${r.sessionId.toString(16)}]`;
      const what = `${d.protocol.padEnd(6)} ${d.name}${d.detail ? ` ${d.detail}` : ''}`;
      return `${String(n).padStart(4)}  ${arrow}  ${what.padEnd(66)} ${String(r.bytes.length).padStart(5)} B${sid}${d.malformed ? `  MALFORMED: ${d.malformed}` : ''}`;
    }
    case 'dsm': {
      const line = isDsmRequestEvent(r.event) ? undefined : describeDsmEvent(r.event);
      return line && `      device      ${line}`;
    }
    case 'access':
      return `      ${r.domain.padEnd(12)}${r.action}: ${r.result}`;
    case 'abi': {
      const e = r.event;
      const args = Object.entries(e.args)
        .map(([k, v]) => `${k}=${typeof v === 'bigint' ? `0x${v.toString(16)}` : v}`)
        .join(' ');
      return `      ${`${r.domain} -> tsm`.padEnd(12)}${e.call}(${args}) = ${e.status}${e.detail && !e.ok ? `: ${e.detail}` : ''}`;
    }
    case 'uapi': {
      const e = r.event;
      const res = e.ok ? '0' : `-${e.errno}${e.detail ? `: ${e.detail}` : ''}`;
      return `      ${`host ${e.layer}`.padEnd(12)}${e.op} = ${res}`;
    }
    case 'guest': {
      const e = r.event;
      const res = e.ok ? '0' : `-${e.errno}${e.detail ? `: ${e.detail}` : ''}`;
      return `      ${'guest'.padEnd(12)}${e.op} = ${res}`;
    }
    case 'check':
      return `      check       ${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail && !r.ok ? `: ${r.detail}` : ''}`;
  }
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(about('demo'))
    .addHelpText(
      'after',
      examples(
        ['teeio demo', 'the CoCo VM lifecycle, then the TSM <-> DSM conversation'],
        ['teeio demo --tdisp-only --profile gpu --tdi 1', 'one TDI of the GPU profile'],
        ['teeio demo --behaviour spdm-emu', "spdm-emu's quirks: two checks fail, exit 1"],
        ['teeio demo --seed replay --pcap demo.pcap --keylog demo.keys', 'a replayable capture'],
        ['teeio demo --json > trace.jsonl', 'the trace as JSON lines, for teeio view'],
      ),
    )
    .option(
      '--profile <name|file>',
      'device profile: nic, gpu, nvme, spdm-emu or a YAML/JSON file',
      'nic',
    )
    .option('--tdi <fn>', 'function number of the TDI (default: the first assignable one)')
    .addOption(
      new Option(
        '--behaviour <name>',
        'DSM behaviour (spdm-emu never enters ERROR: watch the checks fail)',
      )
        .choices(Object.keys(BEHAVIOURS))
        .default('spec'),
    )
    .option(
      '--seed <text>',
      'seed every random value (nonces, keys, session ids) for a replayable run',
    )
    .option('--json', 'print the trace as JSON lines (docs/trace.md)')
    .option('--trace <file>', 'write the whole trace as JSON (docs/trace.md, teeio-trace/1)')
    .option('--pcap <file>', 'write the DOE mailbox traffic as a pcap (LINKTYPE_PCI_DOE 292)')
    .option('--keylog <file>', "append the TSM session's secrets to FILE, for teeio decode")
    .option('--html <file>', 'also write the trace as the viewer page (see teeio view)')
    .option('--quiet', 'print only the steps, checks and the summary')
    .addOption(
      new Option('--flavour <name>', 'TSM flavour of the CoCo VM lifecycle')
        .choices([...DEMO_FLAVOURS])
        .default('tdx'),
    )
    .option('--tdisp-only', 'only the TSM <-> DSM conversation, not the CoCo VM lifecycle first')
    .action(async (o: DemoOptions) => {
      const [
        { REPLAY_EPOCH_MS },
        { resolveProfile },
        { runLifecycle },
        trc,
        { traceFileJson, traceHeaderLine },
        cap,
        cocoDemo,
        id,
      ] = await Promise.all([
        import('../crypto/random.ts'),
        import('../device/profiles/load.ts'),
        import('../world/lifecycle.ts'),
        import('../world/trace.ts'),
        import('../world/trace-file.ts'),
        import('./capture.ts'),
        import('./demo-coco.ts'),
        import('./identity.ts'),
      ]);
      const { Trace, traceRecordJson } = trc;
      const { openCapture } = cap;
      const { runCocoVmDemo } = cocoDemo;
      const { CliError } = id;
      let profile: ReturnType<typeof resolveProfile>;
      try {
        profile = resolveProfile(o.profile);
      } catch (e) {
        throw new CliError(`--profile ${o.profile}: ${(e as Error).message}`);
      }
      const tdiFn = o.tdi === undefined ? undefined : Number(o.tdi);
      if (tdiFn !== undefined && !(Number.isInteger(tdiFn) && tdiFn >= 0)) {
        throw new CliError(`--tdi ${o.tdi}: not a function number`);
      }
      // --json: the format's header line, then every record as it comes (docs/trace.md).
      const source = `teeio demo${o.tdispOnly ? ' --tdisp-only' : ` --flavour ${o.flavour}`} --profile ${profile.name} --behaviour ${o.behaviour}${o.seed ? ` --seed ${o.seed}` : ''}`;
      if (o.json) console.log(traceHeaderLine(source));
      // --trace: the CoCo VM lifecycle's records, then the TSM <-> DSM conversation's.
      const coco = new Trace();
      const cocoOk = o.tdispOnly
        ? true
        : await runCocoVmDemo(o.flavour, { seed: o.seed, json: o.json, trace: coco });
      const trace = new Trace();
      let n = 0;
      trace.onRecord((r) => {
        if (r.kind === 'spdm') n++;
        if (o.json) {
          console.log(JSON.stringify(traceRecordJson(r)));
          return;
        }
        if (o.quiet && (r.kind === 'spdm' || r.kind === 'dsm')) return;
        const line = formatRecord(r, n);
        if (line !== undefined) console.log(line);
      });
      // A seeded run stamps its records from a logical clock (1 us per DOE object from the
      // replay epoch) instead of the wall clock, so the capture repeats byte for byte.
      let replayUs = REPLAY_EPOCH_MS * 1000;
      const capture = openCapture(o, 'pci_doe', o.seed ? () => replayUs++ : undefined);
      if (!o.json) {
        console.log(
          `teeio demo: the TSM <-> DSM conversation in detail: profile ${profile.name}, DSM behaviour ${o.behaviour}, TSM <-> DSM over function 0's DOE mailbox${o.seed ? `, seed "${o.seed}"` : ''}`,
        );
      }
      // The summary names no path, so two runs of one seed print the same text.
      const result = await runLifecycle({
        profile,
        tdiFn,
        seed: o.seed,
        behaviour: o.behaviour,
        trace,
        onWire: capture.tap,
        onSessionSecrets: capture.onSessionSecrets,
      }).finally(() => capture.close());
      const pcapObjects = capture.packets;
      if (o.trace) {
        const records = [...coco.records, ...trace.records].map(traceRecordJson);
        writeFileSync(o.trace, `${JSON.stringify(traceFileJson(records, source), null, 1)}\n`);
      }
      if (o.html) {
        const { writeViewerPage } = await import('./view.ts');
        const records = trace.records.map((r) => traceRecordJson(r) as Record<string, unknown>);
        await writeViewerPage(
          records,
          `teeio demo --profile ${profile.name} --behaviour ${o.behaviour}`,
          o.html,
        );
      }
      const checks = trace.records.filter((r) => r.kind === 'check');
      const failed = trace.failedChecks;
      if (!o.json) {
        console.log(
          `\nsummary: ${n} SPDM messages, ${checks.length - failed.length}/${checks.length} checks held${o.pcap ? `, ${pcapObjects} DOE objects in the --pcap file` : ''}`,
        );
        for (const f of failed)
          console.log(`  FAILED: ${f.name}${f.detail ? `: ${f.detail}` : ''}`);
      }
      process.exitCode = result.ok && cocoOk ? 0 : 1;
    });
}
