/**
 * One TSM driver operation's firmware calls (SEAMCALLs, PSP commands, RMI commands), shared
 * by the flavours' drivers: each call by name through HostMachine.firmware with its events
 * kept in order, and the operation's outcome carrying all of them. Each flavour maps its own
 * statuses to errnos (tdx/, sev/, cca/ firmware.ts).
 */
import type { AbiOutcome } from '../../platform/abi.ts';
import type { Rid } from '../../platform/ids.ts';
import type { Errno } from '../errno.ts';
import type { FirmwareArgs, HostMachine } from '../machine.ts';
import type { HostEvent, HostOutcome } from '../outcome.ts';

/** One driver operation's firmware calls so far. */
export interface FirmwareRun {
  m: HostMachine;
  events: HostEvent[];
}

export const firmwareRun = (m: HostMachine): FirmwareRun => ({ m, events: [] });

/** One firmware call; `lend` names the DSM whose DOE mailbox carries its messages. */
export async function firmwareCall<T = undefined>(
  run: FirmwareRun,
  call: string,
  args: FirmwareArgs,
  lend?: Rid,
): Promise<AbiOutcome<T>> {
  const o = (await run.m.firmware(call, args, lend)) as AbiOutcome<T>;
  run.events.push(...o.events);
  return o;
}

/** The refusal `errno` for failed call `o`, naming the call and its status, with every event. */
export function firmwareFailed<T = never>(
  run: FirmwareRun,
  o: AbiOutcome<unknown>,
  errno: Errno,
  unnamed: string,
): HostOutcome<T> {
  const call = o.events.at(-1)?.call ?? unnamed;
  const detail = `${call}: ${o.status}${o.detail ? ` (${o.detail})` : ''}`;
  return { ok: false, errno, detail, events: run.events };
}

/** A refusal the driver decides itself, with the events of any call made so far. */
export function refuseRun<T = never>(
  run: FirmwareRun,
  errno: Errno,
  detail: string,
): HostOutcome<T> {
  return { ok: false, errno, detail, events: run.events };
}

export function doneRun<T = undefined>(run: FirmwareRun, value: T): HostOutcome<T> {
  return { ok: true, value, events: run.events };
}
