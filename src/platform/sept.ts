/**
 * The secure EPT of one confidential VM (Intel TDX module's Secure EPT; the same role as AMD's
 * RMP-checked NPT and Arm's realm RTT), owned by the TSM: which guest frame is backed by which
 * private host page or private (TDI) MMIO page, and the entry life cycle the TDX module
 * enforces (SYSTEM.md section 3, "TSM firmware"):
 *
 *   add (TDH.MEM.PAGE.ADD before TDH.MR.FINALIZE: present; PAGE.AUG / TDH.MMIO.MAP after:
 *   pending until the guest's TDG.MEM.PAGE.ACCEPT / TDG.MMIO.ACCEPT) -> block
 *   (TDH.MEM.RANGE.BLOCK / TDH.MMIO.BLOCK, stamps the TLB epoch) -> TDH.MEM.TRACK (epoch++)
 *   -> remove (TDH.MEM.PAGE.REMOVE / TDH.MMIO.UNMAP; needs the block tracked).
 *
 * Removal comes in two flavours: 'delete' frees the entry (TDX), 'destroy' leaves it 'removed'
 * (CCA RMI_DATA_DESTROY: RIPAS_DESTROYED, the guest's next access is a fatal abort). Errors
 * are the TDX module's status names.
 */
import type { Pfn, Rid, VmId } from './ids.ts';
import { PAGE_SHIFT, pfnKey } from './ids.ts';
import { type PfnTable, pfnTable } from './pfn-table.ts';
import { done, type OpResult, type Outcome, refuse } from './result.ts';

export type SeptTarget =
  | { kind: 'memory'; hpfn: bigint }
  /** A page of a TDI's BAR (its bus address page) and the TDI's requester id. */
  | { kind: 'mmio'; hpfn: bigint; rid: Rid };

export type SeptEntryState = 'pending' | 'present' | 'blocked' | 'removed';

export interface SeptEntry {
  target: SeptTarget;
  state: SeptEntryState;
  /** The TLB epoch when the entry was blocked (removal needs a track after it). */
  blockedEpoch?: number;
}

export interface SeptState {
  vm: VmId;
  /** By guest frame number (the GPA without the shared bit, >> 12; a number key, ids.ts Pfn). */
  entries: PfnTable<SeptEntry>;
  /**
   * Index of the MMIO targets of entries not removed: BAR page -> how many entries map it, so
   * the fabric asks "is this BAR page private?" in one lookup (fabric.ts privateMmioOwner).
   */
  mmioTargets: PfnTable<number>;
  /** TLB tracking epoch, TDH.MEM.TRACK increments it. */
  epoch: number;
  /** TDH.MR.FINALIZE done: new entries wait for the guest's accept. */
  finalized: boolean;
}

export type SeptError =
  | 'TDX_EPT_WALK_FAILED'
  | 'TDX_EPT_ENTRY_NOT_FREE'
  | 'TDX_EPT_ENTRY_STATE_INCORRECT'
  | 'TDX_PAGE_ALREADY_ACCEPTED'
  | 'TDX_GPA_RANGE_ALREADY_BLOCKED'
  | 'TDX_GPA_RANGE_NOT_BLOCKED'
  | 'TDX_TLB_TRACKING_NOT_DONE'
  | 'TDX_OP_STATE_INCORRECT';

export type SeptOp =
  | 'TDH.MR.FINALIZE'
  | 'TDH.MEM.PAGE.ADD'
  | 'TDH.MEM.PAGE.AUG'
  | 'TDH.MMIO.MAP'
  | 'TDG.MEM.PAGE.ACCEPT'
  | 'TDG.MMIO.ACCEPT'
  | 'TDH.MEM.RANGE.BLOCK'
  | 'TDH.MMIO.BLOCK'
  | 'TDH.MEM.TRACK'
  | 'TDH.MEM.PAGE.REMOVE'
  | 'TDH.MMIO.UNMAP'
  | 'RMI_DATA_DESTROY'
  | 'RSI_IPA_STATE_SET';

export type SeptFault = 'not-mapped' | 'pending' | 'blocked' | 'removed';

export type SeptTranslation =
  | { ok: true; target: SeptTarget; hpa: bigint }
  | { ok: false; fault: SeptFault };

type SeptOutcome<T extends object = object> = Outcome<OpResult<T, SeptError>>;

export function createSept(vm: VmId): SeptState {
  return { vm, entries: pfnTable(), mmioTargets: pfnTable(), epoch: 0, finalized: false };
}

/** Counts `target` in the MMIO index by `delta` (+1 on add, -1 when its entry goes or is removed). */
function countMmio(sept: SeptState, target: SeptTarget, delta: 1 | -1): void {
  if (target.kind !== 'mmio') return;
  const key = pfnKey(target.hpfn);
  const n = (sept.mmioTargets[key] ?? 0) + delta;
  if (n > 0) sept.mmioTargets[key] = n;
  else delete sept.mmioTargets[key];
}

const at = (sept: SeptState, gfn: bigint) => `${sept.vm} gfn 0x${gfn.toString(16)}`;

/** TDH.MR.FINALIZE: the initial image is measured; later additions need the guest's accept. */
export function septFinalize(sept: SeptState): SeptOutcome {
  const op = 'TDH.MR.FINALIZE';
  if (sept.finalized)
    return refuse(op, 'TDX_OP_STATE_INCORRECT', `${sept.vm} is already finalized`);
  sept.finalized = true;
  return done({}, { kind: 'sept', op, vm: sept.vm, epoch: sept.epoch });
}

/**
 * A new entry for `gfn`: present before finalize (PAGE.ADD), pending after (PAGE.AUG, or
 * TDH.MMIO.MAP for an MMIO target). Refuses a gfn that has an entry in any state.
 */
export function septAdd(
  sept: SeptState,
  gfn: bigint,
  target: SeptTarget,
): SeptOutcome<{ state: SeptEntryState }> {
  const op: SeptOp =
    target.kind === 'mmio'
      ? 'TDH.MMIO.MAP'
      : sept.finalized
        ? 'TDH.MEM.PAGE.AUG'
        : 'TDH.MEM.PAGE.ADD';
  const e = sept.entries[pfnKey(gfn)];
  if (e) return refuse(op, 'TDX_EPT_ENTRY_NOT_FREE', `${at(sept, gfn)} is ${e.state}`);
  const state: SeptEntryState = sept.finalized ? 'pending' : 'present';
  sept.entries[pfnKey(gfn)] = { target: { ...target }, state };
  countMmio(sept, target, 1);
  return done({ state }, { kind: 'sept', op, vm: sept.vm, gfn, state, target: { ...target } });
}

/** The guest accepts a pending entry (TDG.MEM.PAGE.ACCEPT / TDG.MMIO.ACCEPT). */
export function septAccept(sept: SeptState, gfn: bigint): SeptOutcome {
  const e = sept.entries[pfnKey(gfn)];
  const op: SeptOp = e?.target.kind === 'mmio' ? 'TDG.MMIO.ACCEPT' : 'TDG.MEM.PAGE.ACCEPT';
  if (!e) return refuse(op, 'TDX_EPT_WALK_FAILED', `${at(sept, gfn)} is not mapped`);
  if (e.state === 'present')
    return refuse(op, 'TDX_PAGE_ALREADY_ACCEPTED', `${at(sept, gfn)} is present`);
  if (e.state !== 'pending')
    return refuse(op, 'TDX_EPT_ENTRY_STATE_INCORRECT', `${at(sept, gfn)} is ${e.state}`);
  e.state = 'present';
  return done({}, { kind: 'sept', op, vm: sept.vm, gfn, state: e.state });
}

/** Blocks a present or pending entry (no new translations), stamping the TLB epoch. */
export function septBlock(sept: SeptState, gfn: bigint): SeptOutcome {
  const e = sept.entries[pfnKey(gfn)];
  const op: SeptOp = e?.target.kind === 'mmio' ? 'TDH.MMIO.BLOCK' : 'TDH.MEM.RANGE.BLOCK';
  if (!e) return refuse(op, 'TDX_EPT_WALK_FAILED', `${at(sept, gfn)} is not mapped`);
  if (e.state === 'blocked')
    return refuse(op, 'TDX_GPA_RANGE_ALREADY_BLOCKED', `${at(sept, gfn)} is blocked`);
  if (e.state === 'removed')
    return refuse(op, 'TDX_EPT_ENTRY_STATE_INCORRECT', `${at(sept, gfn)} is removed`);
  e.state = 'blocked';
  e.blockedEpoch = sept.epoch;
  return done({}, { kind: 'sept', op, vm: sept.vm, gfn, state: e.state, epoch: sept.epoch });
}

/** TDH.MEM.TRACK: a new TLB epoch; once every CPU has flushed, blocks before it are tracked. */
export function septTrack(sept: SeptState): SeptOutcome<{ epoch: number }> {
  sept.epoch++;
  return done(
    { epoch: sept.epoch },
    { kind: 'sept', op: 'TDH.MEM.TRACK', vm: sept.vm, epoch: sept.epoch },
  );
}

/**
 * Removes a blocked entry whose block has been tracked (epoch > blockedEpoch). Mode 'delete'
 * frees the entry (TDH.MEM.PAGE.REMOVE / TDH.MMIO.UNMAP); 'destroy' keeps it as 'removed'
 * (RMI_DATA_DESTROY). Returns the target so the caller can give the page back.
 */
export function septRemove(
  sept: SeptState,
  gfn: bigint,
  mode: 'delete' | 'destroy',
): SeptOutcome<{ target: SeptTarget }> {
  const e = sept.entries[pfnKey(gfn)];
  const op: SeptOp =
    mode === 'destroy'
      ? 'RMI_DATA_DESTROY'
      : e?.target.kind === 'mmio'
        ? 'TDH.MMIO.UNMAP'
        : 'TDH.MEM.PAGE.REMOVE';
  if (!e) return refuse(op, 'TDX_EPT_WALK_FAILED', `${at(sept, gfn)} is not mapped`);
  if (e.state === 'removed')
    return refuse(op, 'TDX_EPT_ENTRY_STATE_INCORRECT', `${at(sept, gfn)} is removed`);
  if (e.state !== 'blocked')
    return refuse(op, 'TDX_GPA_RANGE_NOT_BLOCKED', `${at(sept, gfn)} is ${e.state}`);
  if (!(sept.epoch > (e.blockedEpoch ?? sept.epoch))) {
    return refuse(
      op,
      'TDX_TLB_TRACKING_NOT_DONE',
      `${at(sept, gfn)} was blocked in epoch ${e.blockedEpoch}, no TDH.MEM.TRACK since`,
    );
  }
  const target = { ...e.target };
  countMmio(sept, target, -1);
  if (mode === 'delete') delete sept.entries[pfnKey(gfn)];
  else {
    e.state = 'removed';
    delete e.blockedEpoch;
  }
  return done(
    { target },
    {
      kind: 'sept',
      op,
      vm: sept.vm,
      gfn,
      state: mode === 'delete' ? undefined : 'removed',
      target,
    },
  );
}

/**
 * Frees a 'removed' entry: the guest's consent to forget a page the host destroyed (CCA
 * RSI_IPA_STATE_SET to RIPAS_EMPTY with RSI_CHANGE_DESTROYED). Only the guest may do this,
 * as only it can vouch that it no longer relies on what was there.
 */
export function septForget(sept: SeptState, gfn: bigint): SeptOutcome {
  const op: SeptOp = 'RSI_IPA_STATE_SET';
  const e = sept.entries[pfnKey(gfn)];
  if (!e) return refuse(op, 'TDX_EPT_WALK_FAILED', `${at(sept, gfn)} is not mapped`);
  if (e.state !== 'removed') {
    return refuse(op, 'TDX_EPT_ENTRY_STATE_INCORRECT', `${at(sept, gfn)} is ${e.state}`);
  }
  delete sept.entries[pfnKey(gfn)];
  return done({}, { kind: 'sept', op, vm: sept.vm, gfn, target: e.target });
}

/** The entry of guest frame `gfn` (an ABI frame number), if any; reads only. */
export function septEntry(sept: SeptState | undefined, gfn: bigint): SeptEntry | undefined {
  return sept?.entries[pfnKey(gfn)];
}

/**
 * The target of guest frame `gfn` (a table key) if its entry is present, else the fault: 'not-mapped' (EPT
 * violation), 'pending' (not accepted yet: #VE to the guest), 'blocked', 'removed' (CCA: a
 * fatal abort). Reads only; returns the entry's own target object (no copy, for the fabric's
 * per-transaction walk).
 */
export function septWalk(sept: SeptState, gfn: Pfn): SeptTarget | SeptFault {
  const e = sept.entries[gfn];
  if (e === undefined) return 'not-mapped';
  if (e.state !== 'present') return e.state;
  return e.target;
}

/** Walks the table for `gpa` (the private GPA, shared bit clear); `access` is what the walker was asked for. */
export function septTranslate(
  sept: SeptState,
  gpa: bigint,
  _access: 'read' | 'write',
): SeptTranslation {
  const t = septWalk(sept, pfnKey(gpa >> PAGE_SHIFT));
  if (typeof t === 'string') return { ok: false, fault: t };
  return { ok: true, target: t, hpa: (t.hpfn << PAGE_SHIFT) | (gpa & 0xfffn) };
}
