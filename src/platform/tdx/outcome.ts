/**
 * How the TDX flavour's calls answer: the shared AbiOutcome (platform/abi.ts) with a TDX
 * module status name, and a core refusal turned into the status the module returns for
 * the same condition (status.ts). Used by both host-abi.ts and guest-abi.ts; exports no call.
 */
import type { RequesterTransport } from '../../wire/transport.ts';
import { type AbiArg, type AbiOutcome, abiOutcome } from '../abi.ts';
import type { TsmEnv } from '../tsm/link.ts';
import type { TsmRefusal, TsmResult } from '../tsm/result.ts';
import type { TdxPlatform } from './state.ts';
import { isTdxError, TDX_REFUSAL_STATUS, type TdxStatus } from './status.ts';

export const FLAVOUR = 'tdx';

/** One call of the flavour's tables, named by its real leaf name. */
export type TdxCall = (
  p: TdxPlatform,
  env: TsmEnv,
  args: Record<string, AbiArg>,
  carrier?: RequesterTransport,
) => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>;

/** A typed call as a table entry (the tables index calls by name, args as the trace shows). */
export const entry = <A extends object>(
  f: (
    p: TdxPlatform,
    env: TsmEnv,
    args: A,
    carrier?: RequesterTransport,
  ) => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>,
): TdxCall => f as unknown as TdxCall;

/** What a call decided, before it becomes an outcome. */
export type TdxAnswer<T> = { status: TdxStatus; value?: T; detail?: string };

export const success = <T>(value?: T): TdxAnswer<T> =>
  value === undefined ? { status: 'TDX_SUCCESS' } : { status: 'TDX_SUCCESS', value };

export const fail = (status: TdxStatus, detail: string): TdxAnswer<never> => ({ status, detail });

/** A core refusal as the call's status; `codes` overrides the flavour-wide mapping. */
export function refusal(
  r: { reason: TsmRefusal; detail: string },
  codes: Partial<Record<TsmRefusal, TdxStatus>> = {},
): TdxAnswer<never> {
  return fail(codes[r.reason] ?? TDX_REFUSAL_STATUS[r.reason], r.detail);
}

/** The core result as an answer: success with its value, or the refusal's status. */
export function fromCore<T>(
  r: TsmResult<T>,
  codes: Partial<Record<TsmRefusal, TdxStatus>> = {},
): TdxAnswer<T> {
  return r.ok ? success(r.value) : refusal(r, codes);
}

/** The outcome of a call made by `domain`. */
export function outcome<T>(
  domain: 'host' | 'guest',
  call: string,
  args: object,
  a: TdxAnswer<T>,
): AbiOutcome<T> {
  const r: { ok: boolean; status: string; value?: T; detail?: string } = {
    ok: !isTdxError(a.status),
    status: a.status,
  };
  if (a.value !== undefined) r.value = a.value;
  if (a.detail !== undefined) r.detail = a.detail;
  return abiOutcome(FLAVOUR, domain, call, traceArgs(args), r);
}

/** Arguments as the trace shows them (AbiArg values only). */
function traceArgs(args: object): Record<string, AbiArg> {
  const out: Record<string, AbiArg> = {};
  for (const [k, v] of Object.entries(args)) {
    if (['string', 'number', 'bigint', 'boolean'].includes(typeof v)) out[k] = v as AbiArg;
  }
  return out;
}
