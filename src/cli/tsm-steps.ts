/**
 * The TSM steps of `teeio requester` (SYSTEM.md section 4, steps 1 and 3-5, from the TSM's
 * side), run inside the flow's secured session:
 * - `ide-km`: IDE_KM QUERY, then KEY_PROG + K_SET_GO for every sub-stream (PR, NPR, CPL) x
 *   direction of one stream with fresh keys (PCIe 6.x 6.33.3);
 * - `tdisp`: GET_TDISP_VERSION, GET_TDISP_CAPABILITIES, GET_DEVICE_INTERFACE_STATE (a TDI
 *   left locked or in ERROR is stopped first), LOCK_INTERFACE_REQUEST, the interface report
 *   checked against the BARs given with --tdi-bars, START_INTERFACE_REQUEST, the state
 *   (RUN), STOP_INTERFACE_REQUEST and the state again (CONFIG_UNLOCKED) (PCIe 6.x ch. 11).
 * Both run the TSM's own bind steps (platform/tsm/bind.ts).
 * Each step returns one line for the requester's output.
 */
import { type Command, Option } from 'commander';
import {
  type AssignedBar,
  DEFAULT_LOCK_FLAGS,
  fetchCheckedReport,
  IdeKmAckError,
  lockTdi,
  programIdeStream,
  type SecuredChannel,
  startTdi,
  stopTdi,
  TdispClient,
  TdispErrorResponse,
  TsmProtocolError,
} from '../platform/tsm/index.ts';
import type { InterfaceId } from '../wire/tdisp/messages.ts';
import { CliError } from './identity.ts';

export const TSM_STEPS = ['ide-km', 'tdisp'] as const;
export type TsmStep = (typeof TSM_STEPS)[number];

export interface TsmCliOptions {
  tdi?: string;
  tdiBars?: string;
  ideStream: string;
  mmioReportingOffset: string;
  lockFlags: string;
}

export interface TsmParams {
  tdi?: InterfaceId;
  bars?: AssignedBar[];
  streamId: number;
  reportingOffset: bigint;
  lockFlags: number;
}

/** --tdi, --tdi-bars, --ide-stream, --mmio-reporting-offset, --lock-flags. */
export function addTsmOptions(cmd: Command): Command {
  return cmd
    .option(
      '--tdi <id>',
      'TDI for the tdisp step: a function number (e.g. 1) or an interface id (e.g. 0x0101)',
    )
    .option(
      '--tdi-bars <list>',
      "the TDI's BARs as the host assigned them, bar:address:size,... (as `teeio device` prints)",
    )
    .option('--ide-stream <id>', 'IDE stream the ide-km step keys and LOCK names', '0')
    .addOption(
      new Option(
        '--mmio-reporting-offset <n>',
        'LOCK_INTERFACE_REQUEST MMIO_REPORTING_OFFSET',
      ).default('0'),
    )
    .option(
      '--lock-flags <n>',
      'LOCK_INTERFACE_REQUEST flags',
      `0x${DEFAULT_LOCK_FLAGS.toString(16)}`,
    );
}

function bigintOf(option: string, s: string, max: bigint): bigint {
  let v: bigint;
  try {
    v = BigInt(s.trim());
  } catch {
    throw new CliError(`${option}: "${s}" is not a number`);
  }
  if (v < 0n || v > max) throw new CliError(`${option}: "${s}" is out of range`);
  return v;
}

/**
 * "3" (decimal: function 3 on bus 0) or "0x0103" (hex: the FunctionID, bits 15:0 requester
 * id, 23:16 segment, bit 24 segment valid).
 * @throws CliError on anything else.
 */
export function parseTdi(s: string): InterfaceId {
  const t = s.trim();
  if (/^\d+$/.test(t)) {
    const fn = Number(t);
    if (fn > 0xff) throw new CliError(`--tdi: function ${t} is not 0..255`);
    return { requesterId: fn, segment: 0, segmentValid: false };
  }
  if (!/^0x[0-9a-f]+$/i.test(t)) throw new CliError(`--tdi: "${s}" is not a function or 0x id`);
  const v = Number(bigintOf('--tdi', t, 0x1ffffffn));
  return {
    requesterId: v & 0xffff,
    segment: (v >>> 16) & 0xff,
    segmentValid: (v & 0x1000000) !== 0,
  };
}

/** "0:0xe0000000:0x10000,2:0x4000000000:0x4000". @throws CliError. */
export function parseBars(s: string): AssignedBar[] {
  return s
    .split(',')
    .filter((x) => x.trim())
    .map((part) => {
      const f = part.trim().split(':');
      if (f.length !== 3) throw new CliError(`--tdi-bars: "${part}" is not bar:address:size`);
      const index = Number(bigintOf('--tdi-bars', f[0], 5n));
      const address = bigintOf('--tdi-bars', f[1], (1n << 64n) - 1n);
      const size = bigintOf('--tdi-bars', f[2], 1n << 63n);
      if (size === 0n) throw new CliError(`--tdi-bars: BAR ${index} has size 0`);
      return { index, address, size };
    });
}

/** The TSM parameters of a run. @throws CliError for a bad option, or tdisp without --tdi. */
export function tsmParams(o: TsmCliOptions, steps: readonly string[]): TsmParams {
  const streamId = Number(bigintOf('--ide-stream', o.ideStream, 0xffn));
  const p: TsmParams = {
    streamId,
    reportingOffset: bigintOf('--mmio-reporting-offset', o.mmioReportingOffset, (1n << 64n) - 1n),
    lockFlags: Number(bigintOf('--lock-flags', o.lockFlags, 0xffffn)),
  };
  if (o.tdi !== undefined) p.tdi = parseTdi(o.tdi);
  if (o.tdiBars !== undefined) p.bars = parseBars(o.tdiBars);
  if (steps.includes('tdisp') && !p.tdi) {
    throw new CliError('--tdi: the tdisp step needs the TDI (see `teeio device` output)');
  }
  return p;
}

/** A TSM failure as one line, or undefined when `e` is not one. */
export function describeTsmError(e: unknown): string | undefined {
  if (
    e instanceof TdispErrorResponse ||
    e instanceof IdeKmAckError ||
    e instanceof TsmProtocolError
  ) {
    return e.message;
  }
  return undefined;
}

/** ide-km: QUERY, then program and start every key of the stream. */
export async function ideKmStep(ch: SecuredChannel, p: TsmParams): Promise<string> {
  const { query, keys } = await programIdeStream(ch, p.streamId);
  return `ide-km: stream ${p.streamId} port ${query.portIndex} (${query.ideRegisters.length} IDE registers): ${keys.length} keys programmed and started (RX/TX x PR/NPR/CPL, K0)`;
}

const hexId = (id: InterfaceId) =>
  `0x${((id.segmentValid ? 0x1000000 : 0) | (id.segment << 16) | id.requesterId).toString(16).padStart(4, '0')}`;

/**
 * tdisp: the TSM's lock, report + check, start (platform/tsm/bind.ts), then stop.
 * @throws TdispErrorResponse, TsmProtocolError, the SPDM errors; TsmProtocolError (named
 *   'report check') when the report does not match the BARs.
 */
export async function tdispStep(ch: SecuredChannel, p: TsmParams): Promise<string> {
  const tdi = p.tdi!;
  const t = new TdispClient(ch);
  const parts: string[] = [];
  const locked = await lockTdi(t, tdi, {
    flags: p.lockFlags,
    defaultStreamId: p.streamId,
    mmioReportingOffset: p.reportingOffset,
  });
  parts.push(`TDISP ${locked.versions.map((v) => `${v >> 4}.${v & 0xf}`).join(',')}`);
  parts.push(`lock flags 0x${locked.lockFlagsSupported.toString(16)}`);
  if (locked.stoppedFrom) parts.push(`STOP from ${locked.stoppedFrom}`);
  parts.push('LOCK -> CONFIG_LOCKED');
  const { bytes, report } = await fetchCheckedReport(t, tdi, p.bars, p.reportingOffset);
  parts.push(
    p.bars
      ? `report ${bytes.length} B, ${report.mmioRanges.length} ranges match BARs ${p.bars.map((b) => b.index).join(',')}`
      : `report ${bytes.length} B, ${report.mmioRanges.length} ranges (no --tdi-bars: not checked)`,
  );
  await startTdi(t, tdi, locked.nonce);
  parts.push('START -> RUN');
  await stopTdi(t, tdi);
  parts.push('STOP -> CONFIG_UNLOCKED');
  return `tdisp: tdi ${hexId(tdi)}: ${parts.join(', ')}`;
}
