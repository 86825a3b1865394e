/**
 * What the devsec TSM core asks of each flavour (tdx.ts, sev.ts, cca.ts): collect the
 * evidence of a locked TDI through the flavour's guest ABI (the guest's nonce bound to it),
 * and accept what the attester verified (private MMIO, trusted DMA, LOCKED -> RUN). The
 * helpers make one guest ABI call or hypercall and keep its events.
 */
import type { AbiArg, AbiOutcome } from '../../platform/abi.ts';
import {
  PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE,
} from '../../wire/tdisp/constants.ts';
import { decodeInterfaceReport } from '../../wire/tdisp/report.ts';
import type { AttestationEvidence, AttestationReason, TdiStateName } from '../attest/evidence.ts';
import type { GuestCallArgs, GuestHypercall, GuestMachine } from '../machine.ts';
import { fail, type GuestEvent, type Step } from '../outcome.ts';
import type { Attested, GuestDevice, GuestState } from '../state.ts';

export interface TsmContext {
  m: GuestMachine;
  g: GuestState;
  dev: GuestDevice;
  events: GuestEvent[];
}

/** Evidence as one flavour collected it, before the attester adds what the guest knows. */
export interface Collected {
  /** Everything but mmioReportingOffset, which the attester relates to the guest's BARs. */
  evidence: Omit<AttestationEvidence, 'mmioReportingOffset'>;
  /** MMIO_REPORTING_OFFSET the TSM locked with (report FIRST_PAGE = host address + it). */
  tsmReportingOffset: bigint;
  /** What the collector refused on its own (a blob that is not the one the TSM digested). */
  problems: AttestationReason[];
  /** RMM-DA's attest info (CCA). */
  attestInfo?: Attested['attestInfo'];
}

export interface GuestTsmFlavour {
  collect(ctx: TsmContext, nonce: string): Promise<Step<Collected>>;
  /** The TDI's state now, as the firmware tells the guest (its own read, not the host's). */
  state(ctx: TsmContext): Promise<Step<TdiStateName>>;
  /** MMIO ranges, DMA and START in the flavour's order (the core checked the rules). */
  accept(ctx: TsmContext, a: Attested): Promise<Step>;
  /**
   * After an unlock: what the guest gives up of the TDI it had verified (`a`), where its
   * firmware wants to be told (CCA: the destroyed device memory, so the IPAs can be mapped
   * again). Absent where the firmware forgets on its own.
   */
  release?(ctx: TsmContext, a: Attested): Promise<Step>;
}

/** One guest ABI call; its events kept. */
export async function tsmCall<T>(
  ctx: TsmContext,
  call: string,
  args: GuestCallArgs,
): Promise<AbiOutcome<T>> {
  const o = (await ctx.m.tsmCall(call, args)) as AbiOutcome<T>;
  ctx.events.push(...o.events);
  return o;
}

/** A refused guest ABI call as the guest kernel's -EIO, naming the call and status. */
export const callFailed = (call: string, o: { status: string; detail?: string }) =>
  fail('EIO', `${call}: ${o.status}${o.detail ? ` (${o.detail})` : ''}`);

/** One hypercall to the VMM; its value, or the host's errno passed on. */
export async function hypercall(ctx: TsmContext, call: GuestHypercall): Promise<Step<unknown>> {
  const r = await ctx.m.hypercall(call);
  const args: Record<string, string | number | boolean> = {
    vdevId: 'vdevId' in call ? call.vdevId : 0,
  };
  if (call.op === 'tsm-guest-req') {
    args.scope = call.scope;
    const name = call.message.name ?? call.message.type;
    if (name !== undefined) args.message = String(name);
  }
  const ev: GuestEvent = { kind: 'guest', op: `hypercall ${call.op}`, args, ok: r.ok };
  if (!r.ok) Object.assign(ev, { errno: r.errno, detail: r.detail });
  ctx.events.push(ev);
  return r.ok ? { ok: true, value: r.value } : fail(r.errno, `${call.op}: ${r.detail}`);
}

/** A relayed guest request about the context's device. */
export function guestRequest(
  ctx: TsmContext,
  scope: 'info' | 'state-change',
  message: Record<string, AbiArg>,
): Promise<Step<unknown>> {
  return hypercall(ctx, { op: 'tsm-guest-req', vdevId: ctx.dev.vdevId, scope, message });
}

export const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const bytesOf = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
export const PAGE = 4096n;

/**
 * The LOCK_INTERFACE_FLAGS a report shows it was locked with, for a firmware that does not
 * tell the guest its flags: NO_FW_UPDATE from INTERFACE_INFO, LOCK_MSIX from a range flagged
 * MSI-X table or PBA or a non-zero MSI-X Message Control (both reported only under LOCK_MSIX,
 * PCIe 11.3.11). What the platform answered to question 11 reaches the guest this way, never
 * as a property of the flavour. A malformed report shows nothing; the verifier names it.
 */
export function lockFlagsShown(report: Uint8Array): number {
  try {
    const r = decodeInterfaceReport(report);
    const msix =
      r.msixMessageControl !== 0 ||
      r.mmioRanges.some((m) => m.attributes.msixTable || m.attributes.msixPba);
    return (
      (r.interfaceInfo.noUpdateAfterLock ? PCI_TDISP_LOCK_INTERFACE_FLAGS_NO_FW_UPDATE : 0) |
      (msix ? PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX : 0)
    );
  } catch {
    return 0;
  }
}
