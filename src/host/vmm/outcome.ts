/** The VMM's own trace events: each VMM operation is one UapiEvent of layer 'vmm', last. */
import type { Errno } from '../errno.ts';
import { type HostEvent, type HostOutcome, hostErr, hostOk } from '../outcome.ts';

type Args = Parameters<typeof hostOk>[2];

export const vmmOk = <T>(op: string, args: Args, value: T, events: HostEvent[] = []) =>
  hostOk('vmm', op, args, value, events);

export const vmmErr = <T = never>(
  op: string,
  args: Args,
  errno: Errno,
  detail: string,
  events: HostEvent[] = [],
): HostOutcome<T> => hostErr('vmm', op, args, errno, detail, events);

/** A uAPI call's refusal passed up as the VMM operation's; `events` already holds the call's. */
export const vmmFailed = <T = never>(
  op: string,
  args: Args,
  r: { errno: Errno; detail: string },
  events: HostEvent[],
): HostOutcome<T> => hostErr('vmm', op, args, r.errno, r.detail, events);
