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
import { isTdxError, TDX_REFUSAL_STATUS, TDX_STATUS, type TdxStatus } from './status.ts';

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

/**
 * The trusted IOMMU's errors (iommu-secure.ts) as the module's DMAR statuses: no context is
 * TDX_DMAR_ENTRY_NOT_PRESENT, a context of another TD is the DEVIF's metadata mismatch, and
 * a context in the wrong state (or already there) TDX_DMAR_INVALID_MAPPING_STATE.
 */
const DMAR_STATUS: Record<string, TdxStatus> = {
  ENOENT: 'TDX_DMAR_ENTRY_NOT_PRESENT',
  EPERM: 'TDX_DEVIF_INVALID_METADATA',
  EINVAL: 'TDX_DMAR_INVALID_MAPPING_STATE',
  EEXIST: 'TDX_DMAR_INVALID_MAPPING_STATE',
};

/** The hardware's own error name leading a core refusal's detail (hw-refusal.ts), if known. */
function hardwareStatus(r: { reason: TsmRefusal; detail: string }): TdxStatus | undefined {
  const name = /^([A-Z_]+):/.exec(r.detail)?.[1];
  if (name === undefined) return undefined;
  if (name in TDX_STATUS) return name as TdxStatus;
  return r.reason === 'dma-state' ? DMAR_STATUS[name] : undefined;
}

/**
 * A core refusal as the call's status: the secure EPT's or IOMMU's own error when the core
 * passed one on, else `codes`, else the flavour-wide mapping.
 */
export function refusal(
  r: { reason: TsmRefusal; detail: string },
  codes: Partial<Record<TsmRefusal, TdxStatus>> = {},
  renamed: Partial<Record<TdxStatus, TdxStatus>> = {},
): TdxAnswer<never> {
  const hw = hardwareStatus(r);
  const status = hw !== undefined ? (renamed[hw] ?? hw) : undefined;
  return fail(status ?? codes[r.reason] ?? TDX_REFUSAL_STATUS[r.reason], r.detail);
}

/**
 * The core result as an answer: success with its value, or the refusal's status (`renamed`
 * gives a call's own name for a hardware status, e.g. TDG.MMIO.ACCEPT's
 * TDX_MMIO_PAGE_ALREADY_ACCEPTED for the secure EPT's TDX_PAGE_ALREADY_ACCEPTED).
 */
export function fromCore<T>(
  r: TsmResult<T>,
  codes: Partial<Record<TsmRefusal, TdxStatus>> = {},
  renamed: Partial<Record<TdxStatus, TdxStatus>> = {},
): TdxAnswer<T> {
  return r.ok ? success(r.value) : refusal(r, codes, renamed);
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

/** The outcome of a host call (SEAMCALL). */
export const host = <T>(call: string, args: object, a: TdxAnswer<T>): AbiOutcome<T> =>
  outcome('host', call, args, a);

/** The outcome of a guest call (TDCALL). */
export const guest = <T>(call: string, args: object, a: TdxAnswer<T>): AbiOutcome<T> =>
  outcome('guest', call, args, a);
