/**
 * The core's view of a hardware refusal and of a VM's secure EPT: a secure-EPT or memory
 * refusal becomes 'sept-state' / 'page-owner' with the hardware's own error name kept in
 * the detail, so a flavour can still answer with the precise code.
 */
import type { Platform } from '../platform.ts';
import { type SeptState, septEntry } from '../sept.ts';
import { done, refuse, type TsmResult } from './result.ts';
import type { VmId } from './state.ts';

/** The VM's secure EPT, or why not. */
export function vmSept(p: Platform, vm: VmId): TsmResult<SeptState> {
  if (!p.tsm.vms.has(vm)) return refuse('no-such-vm', `no VM ${vm}`);
  const s = p.hw.septs.get(vm);
  return s ? done(s) : refuse('no-such-vm', `VM ${vm} has no secure EPT`);
}

/** A hardware refusal as a core refusal: `error` (the hardware's name) leads the detail. */
export function hwRefusal<T>(r: { ok: false; error: string; reason: string }): TsmResult<T> {
  const reason = r.error.startsWith('TDX_') ? 'sept-state' : 'page-owner';
  return refuse(reason, `${r.error}: ${r.reason}`);
}

/** The secure EPT of `vm`, which must map `kind` (private memory or MMIO) at `gfn`. */
export function septMapping(
  p: Platform,
  vm: VmId,
  gfn: bigint,
  kind: 'memory' | 'mmio',
): TsmResult<SeptState> {
  const s = vmSept(p, vm);
  if (!s.ok) return s;
  if (septEntry(s.value, gfn)?.target.kind !== kind) {
    const what = kind === 'mmio' ? 'private MMIO' : 'private memory';
    return refuse('page-not-mapped', `${vm} gfn 0x${gfn.toString(16)} maps no ${what}`);
  }
  return s;
}

/** Runs a secure-EPT entry operation (accept, block) on a `kind` mapping of `vm`. */
export function septEntryOp(
  p: Platform,
  vm: VmId,
  gfn: bigint,
  kind: 'memory' | 'mmio',
  op: (
    sept: SeptState,
    gfn: bigint,
  ) => { result: { ok: true } | { ok: false; error: string; reason: string } },
): TsmResult {
  const s = septMapping(p, vm, gfn, kind);
  if (!s.ok) return s;
  const r = op(s.value, gfn).result;
  return r.ok ? done(undefined) : hwRefusal(r);
}
