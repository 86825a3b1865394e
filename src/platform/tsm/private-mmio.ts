/**
 * Private MMIO (SYSTEM.md sections 3-5; TDX TDH.MMIO.MAP / BLOCK / UNMAP and
 * TDG.MMIO.ACCEPT, SEV MMIO_VALIDATE, CCA VDEV_MAP with RSI validation): a page of a TDI's
 * BAR enters a VM's secure EPT only when the TDI is bound to that VM, is CONFIG_LOCKED or
 * RUN, and the page lies inside a TEE range of the interface report the TSM fetched (never
 * an IS_NON_TEE_MEM range). The entry waits for the guest's accept; removal needs block and
 * a tracked flush, as for memory. The TDI's record lists what is mapped, so unbind can
 * leave nothing behind.
 */
import { PAGE_SHIFT, pfnKey } from '../ids.ts';
import type { Platform } from '../platform.ts';
import { septAccept, septAdd, septBlock, septEntry, septRemove, septTrack } from '../sept.ts';
import { hwRefusal, septEntryOp, septMapping, vmSept } from './hw-refusal.ts';
import { ok, refuse, type TsmResult } from './result.ts';
import type { TsmTdi, VmId } from './state.ts';
import { boundTdi, tdiRecord } from './tdi.ts';

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** Host page `hpfn` lies in a TEE range (not IS_NON_TEE_MEM) of the TDI's report. */
export function inTeeRange(t: TsmTdi, hpfn: bigint): boolean {
  const page = hpfn << PAGE_SHIFT;
  return (t.report?.ranges ?? []).some(
    (r) => !r.nonTee && page >= r.base && page < r.base + BigInt(r.pages) * 4096n,
  );
}

/**
 * The host page `pageOffset` pages into RANGE_ID `rangeId` of the TDI's report, when it lies
 * in a TEE range of that ID; undefined otherwise. A report may give one ID several ranges
 * (teeio's DSM reports per BAR with RANGE_ID = the BAR, and a locked MSI-X table or PBA, or
 * an unlocked one's hole, splits a BAR into several), so the offset counts from the ID's
 * lowest reported page, never from whichever of its ranges comes first: else no page of a
 * later range of the ID could be named, and one named page could mean two.
 */
export function rangeIdPage(t: TsmTdi, rangeId: number, pageOffset: number): bigint | undefined {
  const mine = (t.report?.ranges ?? []).filter((r) => r.rangeId === rangeId);
  if (mine.length === 0 || !Number.isInteger(pageOffset) || pageOffset < 0) return undefined;
  let first = mine[0].base;
  for (const r of mine) if (r.base < first) first = r.base;
  const page = first + BigInt(pageOffset) * 4096n;
  const hit = mine.some(
    (r) => !r.nonTee && page >= r.base && page < r.base + BigInt(r.pages) * 4096n,
  );
  return hit ? page >> PAGE_SHIFT : undefined;
}

/** Maps BAR page `hpfn` of TDI `rid` at `gfn` in `vm`'s secure EPT (pending until accepted). */
export function tsmMmioMap(
  p: Platform,
  vm: VmId,
  rid: number,
  gfn: bigint,
  hpfn: bigint,
): TsmResult {
  // Seeded flaw 'tsm-map-unchecked': any TDI the TSM knows, any page, in any state.
  const unchecked = p.tsm.flaws?.includes('tsm-map-unchecked') === true;
  const t = unchecked ? tdiRecord(p, rid) : boundTdi(p, rid, vm);
  if (!t.ok) return t;
  if (!unchecked) {
    if (t.value.state !== 'CONFIG_LOCKED' && t.value.state !== 'RUN') {
      return refuse('tdi-state', `TDI ${rid} is ${t.value.state}, needs CONFIG_LOCKED or RUN`);
    }
    if (!t.value.report) return refuse('no-report', `TDI ${rid}: no interface report fetched`);
    if (!inTeeRange(t.value, hpfn)) {
      return refuse('not-in-report', `page ${hex(hpfn)} is in no TEE range of TDI ${rid}'s report`);
    }
  }
  const owner = p.tsm.mmioPages[pfnKey(hpfn)];
  if (owner) return refuse('page-mapped', `page ${hex(hpfn)} is mapped in ${owner.vm}`);
  const s = vmSept(p, vm);
  if (!s.ok) return s;
  const r = septAdd(s.value, gfn, { kind: 'mmio', hpfn, rid });
  if (!r.result.ok) return hwRefusal(r.result);
  t.value.mmio.set(pfnKey(gfn), hpfn);
  p.tsm.mmioPages[pfnKey(hpfn)] = { vm, rid, gfn };
  return ok;
}

/** The guest accepts a pending private MMIO page. */
export function tsmMmioAccept(p: Platform, vm: VmId, gfn: bigint): TsmResult {
  return septEntryOp(p, vm, gfn, 'mmio', septAccept);
}

/** Blocks a private MMIO page (no new translations). */
export function tsmMmioBlock(p: Platform, vm: VmId, gfn: bigint): TsmResult {
  return septEntryOp(p, vm, gfn, 'mmio', septBlock);
}

/** A TLB tracking epoch for `vm` (TDH.MEM.TRACK). */
export function tsmTrack(p: Platform, vm: VmId): TsmResult {
  const s = vmSept(p, vm);
  if (!s.ok) return s;
  septTrack(s.value);
  return ok;
}

/**
 * Removes a blocked, tracked private MMIO page; 'destroy' leaves the entry removed (CCA).
 * The TDI's record forgets the page either way.
 */
export function tsmMmioUnmap(
  p: Platform,
  vm: VmId,
  gfn: bigint,
  mode: 'delete' | 'destroy' = 'delete',
): TsmResult {
  const m = septMapping(p, vm, gfn, 'mmio');
  if (!m.ok) return m;
  const sept = m.value;
  const e = septEntry(sept, gfn);
  const r = septRemove(sept, gfn, mode);
  if (!r.result.ok) return hwRefusal(r.result);
  if (e?.target.kind === 'mmio') {
    p.tsm.tdis.get(e.target.rid)?.mmio.delete(pfnKey(gfn));
    delete p.tsm.mmioPages[pfnKey(e.target.hpfn)];
  }
  return ok;
}
