/**
 * `teeio decode FILE.pcap [--keylog FILE] [--json]`: every packet of a capture (teeio's
 * --pcap, spdm-emu's, any pcap of LINKTYPE_PCI_DOE 292 or LINKTYPE_MCTP 291) decoded on one
 * line: record number, time since the first packet, direction, transport, and the message
 * (IDE_KM / TDISP inside vendor-defined ones). Secured records are decrypted when the key
 * log has their session, and otherwise shown encrypted with their session id. A file that
 * is not such a pcap, or is cut short, is refused naming the record and byte offset (exit
 * 2); exit 1 when a packet did not decode or a record of a logged session did not open.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type CapturedMessage, type DecodedCapture, decodeCapture } from '../spdm/capture.ts';
import { type KeylogEntry, KeylogError, parseKeylog } from '../spdm/keylog.ts';
import { toHex } from '../wire/hex.ts';
import { decodePcap, LINKTYPE_PCI_DOE } from '../wire/pcap.ts';
import { formatVersionByte } from '../wire/spdm/version.ts';
import { CliError } from './identity.ts';

interface DecodeOptions {
  keylog?: string;
  json?: boolean;
}

const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function seconds(m: CapturedMessage): number {
  return m.tsSec + m.tsFrac / (m.nanosecond ? 1e9 : 1e6);
}

function securedText(m: CapturedMessage): string {
  const s = m.secured;
  if (!s) return '';
  const seq = s.sequenceNumber === undefined ? '' : ` seq ${s.sequenceNumber}`;
  switch (s.state) {
    case 'decrypted':
      return `[session ${hex8(s.sessionId)}${seq} ${s.keys} #${s.sequence}] `;
    case 'no-keys':
      return `[session ${hex8(s.sessionId)}${seq} encrypted, ${m.size} B] `;
    case 'not-opened':
      return `[session ${hex8(s.sessionId)}${seq} encrypted: the key log's keys do not open it] `;
  }
}

/** One packet as a line. */
export function formatCaptured(m: CapturedMessage, t0: number): string {
  const dir =
    m.direction === 'request' ? 'REQ->RSP' : m.direction === 'response' ? 'RSP->REQ' : '(?)     ';
  const head = `${String(m.record).padStart(5)}  +${(seconds(m) - t0).toFixed(6)}  ${dir}  ${m.transport.padEnd(18)} `;
  const d = m.description;
  const version =
    d?.protocol === 'SPDM' && m.message && m.message.length > 0
      ? ` (SPDM ${formatVersionByte(m.message[0])})`
      : '';
  const what = d ? `${d.protocol} ${d.name}${d.detail ? ` ${d.detail}` : ''}${version}` : '';
  const error = m.error ? `  ERROR: ${m.error}` : '';
  return `${head}${securedText(m)}${what}${error}`.trimEnd();
}

/** JSON-safe copy: bytes as hex, bigints as 0x strings. */
function jsonSafe(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x) =>
      x instanceof Uint8Array ? toHex(x) : typeof x === 'bigint' ? `0x${x.toString(16)}` : x,
    ),
  );
}

function loadKeylog(file: string | undefined): KeylogEntry[] {
  if (file === undefined) return [];
  try {
    return parseKeylog(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof KeylogError) throw new CliError(`--keylog ${file}: ${e.message}`);
    throw e;
  }
}

/** Counts for the summary line and the exit code. */
export function captureSummary(d: DecodedCapture): {
  packets: number;
  secured: number;
  decrypted: number;
  encrypted: number;
  notOpened: number;
  errors: number;
} {
  const secured = d.messages.filter((m) => m.secured);
  return {
    packets: d.messages.length,
    secured: secured.length,
    decrypted: secured.filter((m) => m.secured?.state === 'decrypted').length,
    encrypted: secured.filter((m) => m.secured?.state === 'no-keys').length,
    notOpened: secured.filter((m) => m.secured?.state === 'not-opened').length,
    errors: d.messages.filter((m) => m.error).length,
  };
}

export function register(program: Command): void {
  program
    .command('decode')
    .argument('<file>', 'a pcap of PCI DOE (292) or MCTP (291) packets, e.g. from --pcap')
    .description(
      'decode every message of a capture; secured records decrypted with a --keylog (docs/captures.md)',
    )
    .option('--keylog <file>', 'session secrets written by --keylog')
    .option('--json', 'print one JSON document: every packet with its decoded fields')
    .action((file: string, o: DecodeOptions) => {
      // `teeio decode x.pcap | head` closes the pipe early: that is not a failure.
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
        throw e;
      });
      const keylog = loadKeylog(o.keylog);
      const pcap = decodePcap(new Uint8Array(readFileSync(file)));
      const decoded = decodeCapture(pcap, keylog);
      const sum = captureSummary(decoded);
      if (o.json) {
        console.log(
          JSON.stringify(
            jsonSafe({
              file,
              linkType: decoded.linkType,
              binding: decoded.binding,
              summary: sum,
              messages: decoded.messages,
            }),
            null,
            1,
          ),
        );
      } else {
        const name = decoded.linkType === LINKTYPE_PCI_DOE ? 'PCI_DOE' : 'MCTP';
        console.log(
          `${file}: link type ${decoded.linkType} (${name}), ${sum.packets} packets${o.keylog ? `, key log ${o.keylog} (${keylog.length} sessions)` : ''}`,
        );
        const t0 = decoded.messages.length ? seconds(decoded.messages[0]) : 0;
        for (const m of decoded.messages) console.log(formatCaptured(m, t0));
        const parts = [`${sum.packets} packets`, `${sum.secured} secured`];
        if (sum.secured) parts.push(`${sum.decrypted} decrypted`, `${sum.encrypted} without keys`);
        if (sum.notOpened) parts.push(`${sum.notOpened} not opened by the key log`);
        if (sum.errors) parts.push(`${sum.errors} did not decode`);
        console.log(`\n${parts.join(', ')}`);
      }
      process.exitCode = sum.errors || sum.notOpened ? 1 : 0;
    });
}
