/**
 * The outcome of one SEV-TIO call (platform/abi.ts): its event in the host's or the
 * guest's trust domain, after the events it caused (the SPDM_REQUEST round trips, the
 * commands a relay issued first).
 */
import { type AbiArg, type AbiEvent, type AbiOutcome, abiOutcome } from '../abi.ts';
import type { TsmResult } from '../tsm/result.ts';
import { SEV_FLAVOUR } from './spdm-request.ts';
import { SEV_RET_OF, type SevRet } from './status.ts';

export type Args = Record<string, AbiArg>;
export type Status = { ok: boolean; status: string; detail?: string };

export function sevOutcome<T>(
  domain: AbiEvent['domain'],
  call: string,
  args: Args,
  r: Status & { value?: T },
  caused: AbiEvent[] = [],
): AbiOutcome<T> {
  const o = abiOutcome<T>(SEV_FLAVOUR, domain, call, args, r);
  return { ...o, events: [...caused, ...o.events] };
}

export const success = <T>(value?: T, status = 'SEV_RET_SUCCESS'): Status & { value?: T } => ({
  ok: true,
  status,
  value,
});

export const failure = (status: SevRet | string, detail: string): Status => ({
  ok: false,
  status,
  detail,
});

/** A core refusal as the firmware's status. */
export function refused(r: Extract<TsmResult<unknown>, { ok: false }>): Status {
  return failure(SEV_RET_OF[r.reason], r.detail);
}

export const hex = (n: number | bigint) => `0x${n.toString(16)}`;
