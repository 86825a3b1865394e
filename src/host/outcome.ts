/**
 * What every host operation answers: the value, or the errno the real kernel returns and why,
 * with the events it caused (its own uAPI event last). Host state is plain data (DESIGN.md
 * principle 2): an operation is a function of (machine, state, arguments), and a refused
 * operation leaves the state as it was.
 */
import type { AbiArg, AbiEvent } from '../platform/abi.ts';
import type { PlatformEvent } from '../platform/events.ts';
import type { Errno } from './errno.ts';

/** The host subsystem an operation belongs to, as the kernel tree names it. */
export type HostLayer = 'pci' | 'pci-tsm' | 'vfio' | 'dma-buf' | 'iommufd' | 'kvm' | 'vmm';

/** One host operation in the trace: an ioctl, a sysfs write, a kernel-internal call. */
export interface UapiEvent {
  kind: 'uapi';
  layer: HostLayer;
  /** The real name: 'VFIO_DEVICE_TSM_BIND', 'tsm/connect', 'dma_buf_move_notify'. */
  op: string;
  args: Record<string, AbiArg>;
  ok: boolean;
  errno?: Errno;
  detail?: string;
}

/** What a host operation may leave in the trace: its own events, firmware calls, hardware. */
export type HostEvent = UapiEvent | AbiEvent | PlatformEvent;

export type HostOutcome<T = undefined> =
  | { ok: true; value: T; events: HostEvent[] }
  | { ok: false; errno: Errno; detail: string; events: HostEvent[] };

/** The operation's success, with `events` it caused before its own. */
export function hostOk<T>(
  layer: HostLayer,
  op: string,
  args: Record<string, AbiArg>,
  value: T,
  events: HostEvent[] = [],
): HostOutcome<T> {
  return { ok: true, value, events: [...events, { kind: 'uapi', layer, op, args, ok: true }] };
}

/** The operation's refusal with `errno`, with `events` it caused before its own. */
export function hostErr<T = never>(
  layer: HostLayer,
  op: string,
  args: Record<string, AbiArg>,
  errno: Errno,
  detail: string,
  events: HostEvent[] = [],
): HostOutcome<T> {
  return {
    ok: false,
    errno,
    detail,
    events: [...events, { kind: 'uapi', layer, op, args, ok: false, errno, detail }],
  };
}
