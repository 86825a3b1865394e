/**
 * The shape every firmware ABI call of every flavour shares (DESIGN.md principles 1-3):
 * a call has its real name (TDH.MMIO.MAP, TDI_BIND, RMI_VDEV_LOCK, TDG.MMIO.ACCEPT), is
 * made from one trust domain (the untrusted host, or the confidential guest through its
 * guest ABI), and answers with the flavour's real status name (TDX_SUCCESS,
 * TDX_OPERAND_BUSY, SEV_RET_INVALID_GUEST, RMI_ERROR_DEVICE, ...). Each call is one event
 * in the trace, with its arguments and status.
 */

/** An argument as the trace shows it. */
export type AbiArg = string | number | bigint | boolean;

export interface AbiEvent {
  kind: 'abi';
  /** Who made the call: the host (host ABI) or the guest (guest ABI). */
  domain: 'host' | 'guest';
  flavour: string;
  /** The real name, e.g. 'TDH.DEVIF.CREATE'. */
  call: string;
  args: Record<string, AbiArg>;
  /** The real status name, e.g. 'TDX_SUCCESS'. */
  status: string;
  ok: boolean;
  /** Why, when refused (the core's reason in words). */
  detail?: string;
}

/** What one ABI call answers. */
export interface AbiOutcome<T = undefined> {
  ok: boolean;
  status: string;
  value?: T;
  detail?: string;
  /** The call's own event last, after what it caused. */
  events: AbiEvent[];
}

/** Builds the outcome and the call's event. */
export function abiOutcome<T>(
  flavour: string,
  domain: AbiEvent['domain'],
  call: string,
  args: Record<string, AbiArg>,
  r: { ok: boolean; status: string; value?: T; detail?: string },
): AbiOutcome<T> {
  const event: AbiEvent = { kind: 'abi', domain, flavour, call, args, status: r.status, ok: r.ok };
  if (r.detail !== undefined) event.detail = r.detail;
  return { ...r, events: [event] };
}

/**
 * The guest <-> host hypercall interface (TDG.VP.VMCALL, the GHCB, the RSI host calls): what a
 * confidential guest may ask of the VMM and what it is answered. One definition, because both
 * sides speak it and neither may import the other (guest/machine.ts, host/vmm/hypercall.ts).
 */
export type Hypercall =
  | { op: 'tsm-bind'; vdevId: number }
  | { op: 'tsm-unbind'; vdevId: number }
  | {
      op: 'tsm-guest-req';
      vdevId: number;
      scope: 'info' | 'state-change' | 'debug-read' | 'debug-write';
      message: Record<string, AbiArg>;
    }
  | { op: 'map-gpa'; gpa: bigint; pages: number; private: boolean };

/** The VMM's answer: the value the relayed call produced, or the errno the host returned. */
export type HypercallAnswer =
  | { ok: true; value: unknown }
  | { ok: false; errno: string; detail: string };
