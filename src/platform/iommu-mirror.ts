/**
 * The trusted IOMMU's own table of each VM: design question 8's 'mirrored' answer (SYSTEM.md
 * section 6, switch dmaTable). Instead of walking the VM's secure EPT as the CPU does (TDX
 * Connect's shape, 'shared'), the IOMMU translates a T=1 DMA through a second table, guest
 * frame -> host page, that the firmware fills from the secure EPT when the guest accepts DMA
 * (iommu-secure.ts secureDmaAccept), extends with each page the guest accepts while the
 * table is there (tsm/private-memory.ts tsmMemAccept), and invalidates when the trusted DMA
 * context is cleared (secureDmaBlock).
 *
 * The additions are kept in step because the guest's memory grows after it accepts DMA:
 * guest_memfd pages are added and accepted on first touch (a DMA buffer among them), and DMA
 * into a page the mirror lacks would be dropped with the guest reading RUN (I10). Removals are
 * where the tables may part: a block of the secure EPT stops the CPU, not the device, and
 * what keeps DMA inside the guest's memory is the firmware's refusal to release a page the
 * mirror still maps (tsm/private-memory.ts tsmMemReleasable). No flavour publishes a call
 * that edits such a table, so the model has none: the firmware does all of it inside the
 * calls named here.
 */
import { type Pfn, pfnKey, type VmId } from './ids.ts';
import type { IommuState } from './iommu.ts';
import { type PfnTable, pfnEntries, pfnTable } from './pfn-table.ts';
import type { SeptState } from './sept.ts';

/** One VM's mirror: guest frame -> host page (ids.ts Pfn numbers). */
export type MirrorTable = PfnTable<Pfn>;

/**
 * Fills `vm`'s mirror from its secure EPT as it is now: every present private page (what the
 * guest has accepted and the CPU may use; pending, blocked and removed entries and private
 * MMIO stay out, as the shared walk refuses them). A VM with no secure EPT gets an empty table.
 * Replaces what was there: a second TDI's accept refreshes the VM's one table.
 */
export function mirrorFill(iommu: IommuState, vm: VmId, sept: SeptState | undefined): void {
  const table: MirrorTable = pfnTable();
  for (const [gfn, e] of sept ? pfnEntries(sept.entries) : []) {
    if (e.state === 'present' && e.target.kind === 'memory') table[gfn] = pfnKey(e.target.hpfn);
  }
  iommu.mirrors.set(vm, table);
}

/** Adds a page the guest just accepted to `vm`'s mirror, if the VM has one. */
export function mirrorAdd(iommu: IommuState, vm: VmId, gfn: bigint, hpfn: bigint): void {
  const table = iommu.mirrors.get(vm);
  if (table) table[pfnKey(gfn)] = pfnKey(hpfn);
}

/** Drops `vm`'s mirror once no trusted DMA context of `vm` is accepted (the last one cleared). */
export function mirrorDropUnused(iommu: IommuState, vm: VmId): void {
  for (const ctx of iommu.secure.values()) {
    if (ctx.vm === vm && ctx.state === 'accepted') return;
  }
  iommu.mirrors.delete(vm);
}

/** Whether `vm`'s mirror maps guest frame `gfn` (an ABI frame number). */
export function mirrorMaps(iommu: IommuState, vm: VmId, gfn: bigint): boolean {
  return iommu.mirrors.get(vm)?.[pfnKey(gfn)] !== undefined;
}
