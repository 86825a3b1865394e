/**
 * The VMM as the adversary of the guest's TSM requests (SYSTEM.md section 1: the VMM is not
 * trusted; guest/machine.ts: what the guest asks the host to relay, the host "may drop,
 * delay or rewrite"). QEMU carries every guest TSM request (tsm-bind, tsm-unbind and the
 * guest requests of IOMMU_VDEVICE_TSM_REQ); a patched or hostile QEMU can do otherwise with
 * the next ones. The mode applies to the VM's next `count` TSM requests, then the relay
 * passes again:
 *
 * - pass: carried, and its answer kept (the capture a later replay hands back);
 * - drop: not carried; the guest is told it was (success, no answer);
 * - delay: not carried now (the guest's request times out: -ETIMEDOUT); the VMM carries the
 *   held requests late, when its relay is next set;
 * - replay: not carried; the guest gets the answer captured for an earlier request of the
 *   same kind (the same call and message name): an old interface report, say. A request
 *   with nothing captured is carried and does not count;
 * - rewrite: carried, and the interface report in the answer changed on the way back: bit 0
 *   of INTERFACE_INFO (NO_FW_UPDATE) flipped, a device that seems to promise no firmware
 *   update after LOCK. An answer without a report is passed unchanged and does not count.
 *
 * Every request the relay touches is one KVM_EXIT_HYPERCALL event whose `relay` argument
 * says what the VMM did, so the trace shows it. The records are plain data in VmmVm.
 */
import type { AbiArg } from '../../platform/abi.ts';
import type { HostEvent, HostOutcome } from '../outcome.ts';
import { vmmErr, vmmOk } from './outcome.ts';
import type { VmmState, VmmVm } from './state.ts';

export const RELAY_MODES = ['pass', 'drop', 'delay', 'replay', 'rewrite'] as const;
export type RelayMode = (typeof RELAY_MODES)[number];

/** A TSM request as the guest made it (hypercall.ts VmmHypercall, the TSM ones). */
export type RelayedCall =
  | { op: 'tsm-bind'; vdevId: number }
  | { op: 'tsm-unbind'; vdevId: number }
  | {
      op: 'tsm-guest-req';
      vdevId: number;
      scope: 'info' | 'state-change' | 'debug-read' | 'debug-write';
      message: Record<string, AbiArg>;
    };

export interface VmmRelay {
  mode: RelayMode;
  /** How many more TSM requests the mode applies to (0: passing). */
  left: number;
  /** The last answer carried for each kind of request (relayKey). */
  captured: Record<string, unknown>;
  /** Requests held by 'delay', oldest first. */
  held: RelayedCall[];
}

export const createRelay = (): VmmRelay => ({ mode: 'pass', left: 0, captured: {}, held: [] });

/** The kind of a request: the call and the message's name (what a replay must match). */
export function relayKey(call: RelayedCall): string {
  if (call.op !== 'tsm-guest-req') return call.op;
  const name = call.message.name ?? call.message.type;
  return `${call.op} ${name === undefined ? '' : String(name)}`;
}

/** The relay of VM `v`, made on first use. */
export function relayOf(v: VmmVm): VmmRelay {
  v.relay ??= createRelay();
  return v.relay;
}

/** What the relay does with one request, as the hypercall acts on it. */
export type RelayDecision =
  | { act: 'carry'; rewrite: boolean }
  | { act: 'answer'; result: { ok: true; value: unknown } | { ok: false; errno: 'ETIMEDOUT' } };

/** The relay's decision for `call` (the count used up when the mode acts). */
export function relayDecide(r: VmmRelay, call: RelayedCall): RelayDecision {
  const mode = r.left > 0 ? r.mode : 'pass';
  const acted = () => {
    r.left -= 1;
    if (r.left === 0) r.mode = 'pass';
  };
  switch (mode) {
    case 'drop':
      acted();
      return { act: 'answer', result: { ok: true, value: null } };
    case 'delay':
      acted();
      r.held.push(structuredClone(call));
      return { act: 'answer', result: { ok: false, errno: 'ETIMEDOUT' } };
    case 'replay': {
      const key = relayKey(call);
      if (!Object.hasOwn(r.captured, key)) return { act: 'carry', rewrite: false };
      acted();
      return { act: 'answer', result: { ok: true, value: structuredClone(r.captured[key]) } };
    }
    case 'rewrite':
      return { act: 'carry', rewrite: true };
    default:
      return { act: 'carry', rewrite: false };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);

/**
 * The answer with its interface report rewritten (a copy), or undefined when it carries
 * none: SEV's TDI_INFO reply holds it as `report`, CCA's RHI_DA_OBJECT_READ as `data`.
 */
export function rewriteReport(value: unknown): unknown {
  if (!isObject(value)) return undefined;
  for (const key of ['report', 'data']) {
    const b = value[key];
    if (b instanceof Uint8Array && b.length > 0) {
      const forged = b.slice();
      forged[0] ^= 0x01;
      return { ...value, [key]: forged };
    }
  }
  for (const [key, inner] of Object.entries(value)) {
    const r = rewriteReport(inner);
    if (r !== undefined) return { ...value, [key]: r };
  }
  return undefined;
}

/** Records what a carried request answered (the capture) and, for 'rewrite', forges it. */
export function relayAnswered(
  r: VmmRelay,
  call: RelayedCall,
  value: unknown,
  rewrite: boolean,
): { value: unknown; rewritten: boolean } {
  r.captured[relayKey(call)] = structuredClone(value);
  if (!rewrite) return { value, rewritten: false };
  const forged = rewriteReport(value);
  if (forged === undefined) return { value, rewritten: false };
  r.left -= 1;
  if (r.left === 0) r.mode = 'pass';
  return { value: forged, rewritten: true };
}

/**
 * The VMM sets its relay of VM `vmFd`'s next `count` TSM requests to `mode`, carrying first
 * what an earlier 'delay' held (`carry` runs one held request; its events go with this
 * operation's). -EBADF a VM this VMM does not run; -EINVAL an unknown mode or a count that
 * is not a positive integer (for 'pass' the count is ignored).
 */
export async function vmmRelaySet(
  s: VmmState,
  vmFd: number,
  a: { mode: string; count: number },
  carry: (call: RelayedCall) => Promise<HostOutcome<unknown>>,
): Promise<HostOutcome<{ carried: number }>> {
  const op = 'vmm_relay';
  const args = { vmFd, mode: a.mode, count: a.count };
  const v = s.vms.get(vmFd);
  if (!v) return vmmErr(op, args, 'EBADF', `fd ${vmFd} is not a VM of this VMM`);
  if (!(RELAY_MODES as readonly string[]).includes(a.mode)) {
    return vmmErr(op, args, 'EINVAL', `relay mode '${a.mode}' (${RELAY_MODES.join(', ')})`);
  }
  if (a.mode !== 'pass' && (!Number.isInteger(a.count) || a.count < 1)) {
    return vmmErr(op, args, 'EINVAL', `count ${a.count}: a positive number of requests`);
  }
  const r = relayOf(v);
  const events: HostEvent[] = [];
  const held = r.held.splice(0);
  // Carried late with the relay passing: the held requests reach the TSM as they were.
  r.mode = 'pass';
  r.left = 0;
  for (const call of held) events.push(...(await carry(call)).events);
  r.mode = a.mode as RelayMode;
  r.left = a.mode === 'pass' ? 0 : a.count;
  return vmmOk(op, { ...args, carried: held.length }, { carried: held.length }, events);
}
