/**
 * How the CCA host driver calls the RMM and turns its answers into errnos: each RMI command
 * by name through HostMachine.firmware, its events kept in order, and a refusal mapped as
 * the driver would (an argument the RMM rejects is -EINVAL, RMI_BUSY is -EBUSY, a device
 * that failed or an object in a state the driver did not expect is -EIO). A caller that
 * knows a status means "still in use" for its command says so (`as`).
 */
import type { AbiOutcome } from '../../../platform/abi.ts';
import type { Rid } from '../../../platform/ids.ts';
import type { Errno } from '../../errno.ts';
import type { FirmwareArgs, HostMachine } from '../../machine.ts';
import type { HostEvent, HostOutcome } from '../../outcome.ts';

/** One driver operation's firmware calls so far. */
export interface RmiRun {
  m: HostMachine;
  events: HostEvent[];
}

export const rmiRun = (m: HostMachine): RmiRun => ({ m, events: [] });

const ERRNO_OF: Readonly<Record<string, Errno>> = {
  RMI_ERROR_INPUT: 'EINVAL',
  RMI_ERROR_REALM: 'EINVAL',
  RMI_ERROR_REC: 'EINVAL',
  RMI_ERROR_RTT: 'EINVAL',
  RMI_ERROR_NOT_SUPPORTED: 'EOPNOTSUPP',
  RMI_ERROR_DEVICE: 'EIO',
  RMI_BUSY: 'EBUSY',
};

/** One RMI command; `lend` names the DSM whose DOE mailbox carries a device transaction. */
export async function rmiCall<T = undefined>(
  run: RmiRun,
  call: string,
  args: FirmwareArgs,
  lend?: Rid,
): Promise<AbiOutcome<T>> {
  const o = (await run.m.firmware(call, args, lend)) as AbiOutcome<T>;
  run.events.push(...o.events);
  return o;
}

/** The refusal for a failed command, with every event so far. */
export function rmiFailed<T = never>(
  run: RmiRun,
  o: AbiOutcome<unknown>,
  as: Partial<Record<string, Errno>> = {},
): HostOutcome<T> {
  const call = o.events.at(-1)?.call ?? 'RMI';
  const errno = as[o.status] ?? ERRNO_OF[o.status] ?? 'EIO';
  const detail = `${call}: ${o.status}${o.detail ? ` (${o.detail})` : ''}`;
  return { ok: false, errno, detail, events: run.events };
}

/** A refusal the driver decides itself (after or without firmware calls). */
export function refuseRun<T = never>(run: RmiRun, errno: Errno, detail: string): HostOutcome<T> {
  return { ok: false, errno, detail, events: run.events };
}

export function doneRun<T = undefined>(run: RmiRun, value: T): HostOutcome<T> {
  return { ok: true, value, events: run.events };
}
