/**
 * The subcommands of `teeio` as data: name, how the top-level help shows them, one line
 * about each and where each lives. `teeio --help` is drawn from this table alone, and
 * `teeio NAME` loads only NAME's module, so neither waits for the modules (and the
 * certificate, schema and crypto libraries) of the other subcommands. Each module's
 * `register` takes its description from here; test/cli/help.test.ts checks that the table
 * and the modules agree.
 */
import type { Command } from 'commander';

/** A subcommand module: `register(program)` adds the command, its options and its action. */
export interface SubcommandModule {
  register(program: Command): void;
}

export interface Subcommand {
  name: string;
  /** The term the top-level help shows: name, `[options]`, arguments (as commander writes it). */
  term: string;
  description: string;
  load: () => Promise<SubcommandModule>;
}

export const SUBCOMMANDS: readonly Subcommand[] = [
  {
    name: 'demo',
    term: 'demo [options]',
    description:
      "run one TDI's whole TDISP lifecycle in-process (TSM <-> device over the DOE mailbox) and print the trace",
    load: () => import('./demo.ts'),
  },
  {
    name: 'responder',
    term: 'responder [options]',
    description: 'serve SPDM over the spdm-emu socket (pci_doe or mctp) until stopped',
    load: () => import('./responder.ts'),
  },
  {
    name: 'requester',
    term: 'requester [options]',
    description: 'run an SPDM requester flow against a responder on the spdm-emu socket',
    load: () => import('./requester.ts'),
  },
  {
    name: 'device',
    term: 'device [options]',
    description: 'serve the emulated TDISP device (SPDM + IDE_KM + TDISP) on the spdm-emu socket',
    load: () => import('./device.ts'),
  },
  {
    name: 'conformance',
    term: 'conformance [options]',
    description:
      'run the SPDM / IDE_KM / TDISP conformance suite against a responder on the spdm-emu socket',
    load: () => import('./conformance.ts'),
  },
  {
    name: 'view',
    term: 'view [options] <trace>',
    description:
      'write a trace (teeio demo --json) as one self-contained HTML page: a sequence diagram by trust domain, TDI states, event details, failed checks',
    load: () => import('./view.ts'),
  },
  {
    name: 'run',
    term: 'run [options] <file>',
    description:
      'run a scenario file: every step through the world, its expectations and the invariants checked',
    load: () => import('./run.ts'),
  },
  {
    name: 'explore',
    term: 'explore [options]',
    description:
      'let an untrusted host do anything it can while the lifecycle runs; report every invariant it breaks with a shrunk, replayable counterexample',
    load: () => import('./explore.ts'),
  },
  {
    name: 'decode',
    term: 'decode [options] <file>',
    description:
      'decode every message of a capture; secured records decrypted with a --keylog (docs/captures.md)',
    load: () => import('./decode.ts'),
  },
];

/** The description of subcommand `name` (each module's register uses it). */
export function about(name: string): string {
  const c = SUBCOMMANDS.find((s) => s.name === name);
  if (!c) throw new Error(`no subcommand ${name} in src/cli/commands.ts`);
  return c.description;
}

/**
 * The "Examples:" block a subcommand's --help ends with (commander's addHelpText('after')):
 * each example a command line, after a comment saying what it does where that helps.
 */
export function examples(...lines: Array<[command: string, what?: string]>): string {
  const rows = lines.map(([c, what]) => (what ? `  # ${what}\n  ${c}` : `  ${c}`));
  return `\nExamples:\n${rows.join('\n')}`;
}
