/**
 * What each guest operation answers (the guest's side of DESIGN.md principle 3): its value,
 * or the errno the guest kernel returns (SYSTEM.md section 3, guest "devsec" TSM) with why,
 * the attester's reasons when the evidence was refused, and every event on the way: the
 * guest's own operation, its guest ABI calls, its hypercalls and its CPU accesses.
 */
import type { AbiEvent } from '../platform/abi.ts';
import type { PlatformEvent } from '../platform/events.ts';
import type { AttestationReason } from './attest/evidence.ts';

export type GuestErrno =
  | 'EBUSY'
  | 'ENXIO'
  | 'EINVAL'
  | 'ENODEV'
  | 'EPERM'
  | 'EACCES'
  | 'EIO'
  | (string & {});

/** One guest operation (tsm/lock, tsm/accept, ... ) or hypercall, as the trace shows it. */
export interface GuestOpEvent {
  kind: 'guest';
  op: string;
  args: Record<string, string | number | boolean>;
  ok: boolean;
  errno?: string;
  detail?: string;
  /** The VM whose guest it is (the world names it; a guest does not know its own name). */
  vm?: string;
}

export type GuestEvent = GuestOpEvent | AbiEvent | PlatformEvent;

export type GuestOutcome<T = undefined> =
  | { ok: true; value: T; events: GuestEvent[] }
  | {
      ok: false;
      errno: GuestErrno;
      detail: string;
      /** The verifier's (or the collector's) reasons, when evidence was refused. */
      reasons?: AttestationReason[];
      events: GuestEvent[];
    };

/** A refusal inside an operation, before its own event is added. */
export interface GuestRefusal {
  ok: false;
  errno: GuestErrno;
  detail: string;
  reasons?: AttestationReason[];
}

export type Step<T = undefined> = { ok: true; value: T } | GuestRefusal;

export const fail = (errno: GuestErrno, detail: string, reasons?: AttestationReason[]) => {
  const r: GuestRefusal = { ok: false, errno, detail };
  if (reasons) r.reasons = reasons;
  return r;
};

/** The operation's outcome with its own event last. */
export function finish<T>(
  op: string,
  args: GuestOpEvent['args'],
  events: GuestEvent[],
  r: Step<T>,
): GuestOutcome<T> {
  const ev: GuestOpEvent = { kind: 'guest', op, args, ok: r.ok };
  if (!r.ok) {
    ev.errno = r.errno;
    ev.detail = r.detail;
    const out: GuestOutcome<T> = {
      ok: false,
      errno: r.errno,
      detail: r.detail,
      events: [...events, ev],
    };
    if (r.reasons) out.reasons = r.reasons;
    return out;
  }
  return { ok: true, value: r.value, events: [...events, ev] };
}
