/**
 * The TDX Connect host calls that place private things: the MMIO metadata table (which
 * DEVIF owns each BAR page), private memory of a TD (TDH.MEM.PAGE.ADD before
 * TDH.MR.FINALIZE, AUG after, RANGE.BLOCK, TRACK, PAGE.REMOVE), private MMIO
 * (TDH.MMIO.MAP / BLOCK / UNMAP) and the trusted DMA context (TDH.DMAR.ADD / BLOCK / READ /
 * REMOVE), by their leaf names in intel/tdx-module (src/vmm_dispatcher/api_calls/tdxio and
 * the memory handlers). The rules every flavour shares are the core's (tsm/private-*.ts,
 * tsm/trusted-dma.ts); what TDX adds is here: the page's owner comes from the MMIOMT, not
 * from the host; UNMAP of a blocked, tracked page still needs the TDI CONFIG_UNLOCKED or its
 * stream blocked (tdh_mmio_unmap.c), so the host cannot pull MMIO from under a running TD.
 * Part of the host ABI (host-abi.ts lists every call).
 */
import type { AbiOutcome } from '../abi.ts';
import { pfnKey } from '../ids.ts';
import { septEntry } from '../sept.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMemAdd, tsmMemBlock, tsmMemRemove } from '../tsm/private-memory.ts';
import { tsmMmioBlock, tsmMmioMap, tsmMmioUnmap, tsmTrack } from '../tsm/private-mmio.ts';
import { tsmDmaAdd, tsmDmaBlock, tsmDmaRemove } from '../tsm/trusted-dma.ts';
import { devifOf } from './devif.ts';
import { fail, fromCore, host, success } from './outcome.ts';
import type { TdxPlatform } from './state.ts';

const hex = (v: bigint) => `0x${v.toString(16)}`;

// ---------------------------------------------------------------------------------------
// MMIO metadata table: which DEVIF owns each 4 KiB host MMIO page (TDH.MMIO.MAP reads the
// owner from here, not from the host's arguments).

export interface PfnArgs {
  /** Host page frame number of a BAR page (bus address / 4 KiB). */
  pfn: bigint;
}

/** Whether any TD's secure EPT maps host MMIO page `pfn`. */
const mmioMapped = (p: TdxPlatform, pfn: bigint): boolean =>
  p.tsm.mmioPages[pfnKey(pfn)] !== undefined;

/**
 * TDH.MMIOMT.ADD: an entry for host MMIO page `pfn`, owned by no DEVIF yet. (The module adds
 * a table page per level; teeio keeps the leaf entries only. A page that has an entry is
 * refused with TDX_PAGE_NOT_FREE: public sources give no code for it.)
 */
export function tdhMmiomtAdd(p: TdxPlatform, _env: TsmEnv, a: PfnArgs): AbiOutcome {
  const call = 'TDH.MMIOMT.ADD';
  if (p.vendor.mmiomt.has(a.pfn)) {
    return host(call, a, fail('TDX_PAGE_NOT_FREE', `page 0x${a.pfn.toString(16)} has an entry`));
  }
  p.vendor.mmiomt.set(a.pfn, { pfn: a.pfn });
  return host(call, a, success());
}

export interface MmiomtSetArgs extends PfnArgs {
  functionId: number;
}

/** TDH.MMIOMT.SET: the page belongs to the DEVIF of `functionId` (not while it is mapped). */
export function tdhMmiomtSet(p: TdxPlatform, _env: TsmEnv, a: MmiomtSetArgs): AbiOutcome {
  const call = 'TDH.MMIOMT.SET';
  const e = p.vendor.mmiomt.get(a.pfn);
  if (!e) return host(call, a, fail('TDX_MMIOMT_NOT_PRESENT', `page 0x${a.pfn.toString(16)}`));
  const d = devifOf(p, a.functionId);
  if (!d.ok) return host(call, a, d.answer);
  if (mmioMapped(p, a.pfn)) {
    return host(call, a, fail('TDX_IOMMU_MT_PAGE_IN_USE', `page 0x${a.pfn.toString(16)} mapped`));
  }
  e.devif = d.devif.rid;
  return host(call, a, success());
}

/** TDH.MMIOMT.RD: the page's entry. */
export function tdhMmiomtRd(
  p: TdxPlatform,
  _env: TsmEnv,
  a: PfnArgs,
): AbiOutcome<{ pfn: bigint; devif?: number; mapped: boolean }> {
  const call = 'TDH.MMIOMT.RD';
  const e = p.vendor.mmiomt.get(a.pfn);
  if (!e) return host(call, a, fail('TDX_MMIOMT_NOT_PRESENT', `page 0x${a.pfn.toString(16)}`));
  return host(call, a, success({ ...e, mapped: mmioMapped(p, a.pfn) }));
}

/** TDH.MMIOMT.REMOVE: the page's entry goes; not while a TD maps the page. */
export function tdhMmiomtRemove(p: TdxPlatform, _env: TsmEnv, a: PfnArgs): AbiOutcome {
  const call = 'TDH.MMIOMT.REMOVE';
  if (!p.vendor.mmiomt.has(a.pfn)) {
    return host(call, a, fail('TDX_MMIOMT_NOT_PRESENT', `page 0x${a.pfn.toString(16)}`));
  }
  if (mmioMapped(p, a.pfn)) {
    return host(call, a, fail('TDX_IOMMU_MT_PAGE_IN_USE', `page 0x${a.pfn.toString(16)} mapped`));
  }
  p.vendor.mmiomt.delete(a.pfn);
  return host(call, a, success());
}

// ---------------------------------------------------------------------------------------
// Private memory of a TD

export interface TdPageArgs {
  td: string;
  /** Guest frame number (private GPA >> 12). */
  gfn: bigint;
  /** Host page frame number. */
  pfn: bigint;
}

/** TDH.MEM.PAGE.ADD: a page of the TD's initial image, present at once; before finalize only. */
export function tdhMemPageAdd(p: TdxPlatform, _env: TsmEnv, a: TdPageArgs): AbiOutcome {
  const call = 'TDH.MEM.PAGE.ADD';
  if (p.tsm.vms.get(a.td)?.finalized) {
    return host(call, a, fail('TDX_OP_STATE_INCORRECT', `${a.td} is finalized: AUG`));
  }
  return host(call, a, fromCore(tsmMemAdd(p, a.td, a.gfn, a.pfn)));
}

/** TDH.MEM.PAGE.AUG: a page added to a running TD, pending until TDG.MEM.PAGE.ACCEPT. */
export function tdhMemPageAug(p: TdxPlatform, _env: TsmEnv, a: TdPageArgs): AbiOutcome {
  const call = 'TDH.MEM.PAGE.AUG';
  const v = p.tsm.vms.get(a.td);
  if (v && !v.finalized) {
    return host(call, a, fail('TDX_OP_STATE_INCORRECT', `${a.td} is not finalized: ADD`));
  }
  return host(call, a, fromCore(tsmMemAdd(p, a.td, a.gfn, a.pfn)));
}

export interface TdGfnArgs {
  td: string;
  gfn: bigint;
}

/** TDH.MEM.RANGE.BLOCK: no new translations of a private page (stamps the TLB epoch). */
export function tdhMemRangeBlock(p: TdxPlatform, _env: TsmEnv, a: TdGfnArgs): AbiOutcome {
  return host('TDH.MEM.RANGE.BLOCK', a, fromCore(tsmMemBlock(p, a.td, a.gfn)));
}

export interface TdOnlyArgs {
  td: string;
}

/** TDH.MEM.TRACK: a new TLB epoch; blocks made before it count as flushed. */
export function tdhMemTrack(p: TdxPlatform, _env: TsmEnv, a: TdOnlyArgs): AbiOutcome {
  return host('TDH.MEM.TRACK', a, fromCore(tsmTrack(p, a.td)));
}

/**
 * TDH.MEM.PAGE.REMOVE: a blocked, tracked private page goes back to the host, scrubbed. Under
 * a mirrored IOMMU table a page the mirror maps stays (TDX_DEVIF_HAS_MAPPED_DMA, the module's
 * code for DMA still mapped; tsm/private-memory.ts tsmMemReleasable).
 */
export function tdhMemPageRemove(p: TdxPlatform, _env: TsmEnv, a: TdGfnArgs): AbiOutcome {
  return host(
    'TDH.MEM.PAGE.REMOVE',
    a,
    fromCore(tsmMemRemove(p, a.td, a.gfn), { 'tdi-mapped': 'TDX_DEVIF_HAS_MAPPED_DMA' }),
  );
}

// ---------------------------------------------------------------------------------------
// Private MMIO

/**
 * TDH.MMIO.MAP: maps BAR page `pfn` at `gfn` in the TD's secure EPT, pending until the TD's
 * TDG.MMIO.ACCEPT. The DEVIF is the one the MMIOMT names for the page; the core then checks
 * the binding, the TDISP state and that the page is in a TEE range of the report.
 */
export function tdhMmioMap(p: TdxPlatform, _env: TsmEnv, a: TdPageArgs): AbiOutcome {
  const call = 'TDH.MMIO.MAP';
  const e = p.vendor.mmiomt.get(a.pfn);
  if (!e) return host(call, a, fail('TDX_MMIOMT_NOT_PRESENT', `page ${hex(a.pfn)}`));
  if (e.devif === undefined) {
    return host(call, a, fail('TDX_MMIO_INVALID_PAGE_METADATA', `page ${hex(a.pfn)}: no DEVIF`));
  }
  const d = devifOf(p, e.devif);
  if (!d.ok) return host(call, a, d.answer);
  if (d.devif.td !== a.td) {
    return host(
      call,
      a,
      fail(
        'TDX_MMIO_DEVIF_OWNER_MISMATCH',
        `page ${hex(a.pfn)} is DEVIF ${d.devif.rid}'s, of ${d.devif.td}`,
      ),
    );
  }
  if (p.vendor.streams.get(d.devif.device)?.state === 'blocked') {
    return host(call, a, fail('TDX_IDE_STREAM_BLOCKED', `DEVIF ${d.devif.rid}'s stream`));
  }
  return host(
    call,
    a,
    fromCore(tsmMmioMap(p, a.td, d.devif.rid, a.gfn, a.pfn), {
      'page-mapped': 'TDX_MMIO_INVALID_PAGE_METADATA',
    }),
  );
}

/** TDH.MMIO.BLOCK: no new translations of a private MMIO page. */
export function tdhMmioBlock(p: TdxPlatform, _env: TsmEnv, a: TdGfnArgs): AbiOutcome {
  return host(
    'TDH.MMIO.BLOCK',
    a,
    fromCore(tsmMmioBlock(p, a.td, a.gfn), { 'page-not-mapped': 'TDX_EPT_WALK_FAILED' }),
  );
}

/**
 * TDH.MMIO.UNMAP: removes a private MMIO page that is blocked and whose block was tracked
 * (the core refuses otherwise, with the secure EPT's status), and only while the TDI is
 * CONFIG_UNLOCKED or its stream blocked (checked, as tdh_mmio_unmap.c does, once the entry
 * itself could go).
 */
export function tdhMmioUnmap(p: TdxPlatform, _env: TsmEnv, a: TdGfnArgs): AbiOutcome {
  const call = 'TDH.MMIO.UNMAP';
  const sept = p.hw.septs.get(a.td);
  const e = septEntry(sept, a.gfn);
  const removable =
    sept !== undefined &&
    e?.target.kind === 'mmio' &&
    e.state === 'blocked' &&
    sept.epoch > (e.blockedEpoch ?? sept.epoch);
  if (removable && e.target.kind === 'mmio') {
    const rid = e.target.rid;
    const t = p.tsm.tdis.get(rid);
    const devif = p.vendor.devifs.get(rid);
    const streamBlocked =
      devif !== undefined && p.vendor.streams.get(devif.device)?.state === 'blocked';
    if (t && t.state !== 'CONFIG_UNLOCKED' && !streamBlocked) {
      return host(
        call,
        a,
        fail(
          'TDX_DEVIF_TDISP_INVALID_STATE',
          `TDI ${rid} is ${t.state} and its stream not blocked`,
        ),
      );
    }
  }
  return host(
    call,
    a,
    fromCore(tsmMmioUnmap(p, a.td, a.gfn), { 'page-not-mapped': 'TDX_EPT_WALK_FAILED' }),
  );
}

// ---------------------------------------------------------------------------------------
// Trusted DMA

export interface DmarArgs {
  functionId: number;
}

/** TDH.DMAR.ADD: the DEVIF's trusted DMA context for its TD, usable once the TD accepts it. */
export function tdhDmarAdd(p: TdxPlatform, _env: TsmEnv, a: DmarArgs): AbiOutcome {
  const call = 'TDH.DMAR.ADD';
  const d = devifOf(p, a.functionId);
  if (!d.ok) return host(call, a, d.answer);
  return host(call, a, fromCore(tsmDmaAdd(p, d.devif.td, d.devif.rid)));
}

/** TDH.DMAR.BLOCK: no more T=1 DMA from the TDI. */
export function tdhDmarBlock(p: TdxPlatform, _env: TsmEnv, a: DmarArgs): AbiOutcome {
  const call = 'TDH.DMAR.BLOCK';
  const d = devifOf(p, a.functionId);
  if (!d.ok) return host(call, a, d.answer);
  return host(call, a, fromCore(tsmDmaBlock(p, d.devif.rid)));
}

/** TDH.DMAR.READ: the TDI's trusted DMA context as the IOMMU holds it. */
export function tdhDmarRead(
  p: TdxPlatform,
  _env: TsmEnv,
  a: DmarArgs,
): AbiOutcome<{ td: string; state: string }> {
  const call = 'TDH.DMAR.READ';
  const rid = a.functionId & 0xffff;
  const c = p.hw.iommu.secure.get(rid);
  if (!c) return host(call, a, fail('TDX_DMAR_ENTRY_NOT_PRESENT', `requester ${rid}`));
  return host(call, a, success({ td: c.vm, state: c.state }));
}

/** TDH.DMAR.REMOVE: frees a blocked context. */
export function tdhDmarRemove(p: TdxPlatform, _env: TsmEnv, a: DmarArgs): AbiOutcome {
  const call = 'TDH.DMAR.REMOVE';
  const d = devifOf(p, a.functionId);
  if (!d.ok) return host(call, a, d.answer);
  return host(call, a, fromCore(tsmDmaRemove(p, d.devif.rid)));
}
