/**
 * `--heartbeat <seconds>` of `teeio responder` and `teeio device`: the HeartbeatPeriod the
 * responder sends in KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP Param1 (DSP0274 1.3 section
 * 10.20; one byte of seconds). The default is spdm-emu's 240 s: libspdm's requester sends
 * no HEARTBEAT for a period of 0, and its default session flow includes one. A session the
 * responder hears nothing in for twice the period is ended.
 */
import type { Command } from 'commander';
import { DEFAULT_HEARTBEAT_PERIOD } from '../spdm/config.ts';
import { CliError } from './identity.ts';

export function addHeartbeatOption(cmd: Command): Command {
  return cmd.option(
    '--heartbeat <seconds>',
    'HeartbeatPeriod in KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP (0..255, 0 = no heartbeat); idle sessions end after twice it',
    String(DEFAULT_HEARTBEAT_PERIOD),
  );
}

/** @throws CliError unless `s` is 0..255 (decimal). */
export function parseHeartbeat(s: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 0xff) throw new CliError(`--heartbeat: "${s}" is not 0..255 seconds`);
  return n;
}
