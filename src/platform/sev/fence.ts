/**
 * The SEV-TIO ASID fence (SYSTEM.md section 3 "TSM firmware", invariant 10): when the host
 * takes away what a running guest uses (unmaps its private MMIO or the private memory
 * backing it, or force-unbinds its running TDI), the IOMMU fences the guest's whole ASID
 * instead of refusing: from then on the guest's MMIO writes to its TDIs are dropped and its
 * reads return all ones, and its TDIs' DMA is blocked, until the host issues
 * TIO_ASID_FENCE_CLEAR. TIO_ASID_FENCE_STATUS reports it (DMA status in bits 1:0, MMIO in
 * bits 3:2; drivers/crypto/ccp/sev-dev-tio.c). Linux's unbind path reads the status and
 * clears the fence after TIO_TDI_RECLAIM (sev-dev-tsm.c tdi_unbind).
 *
 * The fabric asks `asidFenced(vm)`; `sevFabricViews` hands it the TSM's view of running
 * TDIs with the fence applied, so a fenced guest's T=1 MMIO is refused as the fabric refuses
 * any (reads all ones, writes dropped; reason 'tdi-not-run' until the fabric has a reason of
 * its own for a fence) and its TDIs' T=1 DMA stops; `fencedMmio` states the rule alone.
 */
import type { FabricViews } from '../fabric.ts';
import { fabricViews } from '../platform.ts';
import type { VmId } from '../tsm/state.ts';
import { tsmDmaBlock } from '../tsm/trusted-dma.ts';
import type { SevPlatform, SevState } from './state.ts';
import { guestOfVm } from './state.ts';
import {
  TIO_FENCE_DMA_STATUS_ERROR_FENCED,
  TIO_FENCE_DMA_STATUS_NOT_FENCED,
  TIO_FENCE_MMIO_STATUS_FENCED,
  TIO_FENCE_MMIO_STATUS_NOT_FENCED,
  TIO_FENCE_MMIO_STATUS_SHIFT,
} from './status.ts';

/** The fabric's question: is the ASID of confidential VM `vm` fenced? */
export function asidFenced(p: { vendor: SevState }, vm: VmId): boolean {
  const g = guestOfVm(p.vendor, vm);
  return g?.asid !== undefined && p.vendor.fences.has(g.asid);
}

/** What a guest MMIO access does while the ASID is fenced. */
export type FencedAccess = { kind: 'write'; dropped: true } | { kind: 'read'; data: Uint8Array };

/**
 * A guest MMIO access of `size` bytes to one of its TDIs under the fence: a write is
 * dropped, a read returns all ones. `undefined` when the ASID is not fenced (the access
 * takes its normal path).
 */
export function fencedMmio(
  p: { vendor: SevState },
  vm: VmId,
  access: 'read' | 'write',
  size: number,
): FencedAccess | undefined {
  if (!asidFenced(p, vm)) return undefined;
  return access === 'write'
    ? { kind: 'write', dropped: true }
    : { kind: 'read', data: new Uint8Array(size).fill(0xff) };
}

/**
 * Fences the ASID of `vm` (idempotent: the first cause stays). The IOMMU also stops the
 * trusted DMA of the VM's TDIs (DMA status ERROR_FENCED): their contexts are blocked, and
 * the guest writes its sDTE again once the host cleared the fence.
 */
export function fenceVm(p: SevPlatform, vm: VmId, cause: string): boolean {
  const g = guestOfVm(p.vendor, vm);
  if (g?.asid === undefined) return false;
  if (!p.vendor.fences.has(g.asid)) p.vendor.fences.set(g.asid, { asid: g.asid, cause });
  for (const rid of p.tsm.vms.get(vm)?.tdis ?? []) {
    const t = p.tsm.tdis.get(rid);
    if (t && (t.dma === 'added' || t.dma === 'accepted')) tsmDmaBlock(p, rid);
  }
  return true;
}

/** Whether `vm` has a TDI in RUN: the guest is using its device. */
export function vmRunsTdi(p: SevPlatform, vm: VmId): boolean {
  const v = p.tsm.vms.get(vm);
  return [...(v?.tdis ?? [])].some((rid) => p.tsm.tdis.get(rid)?.state === 'RUN');
}

/** Fences `vm`'s ASID because of `cause` when the VM has a TDI in RUN. */
export function fenceIfRunning(p: SevPlatform, vm: VmId, cause: string): boolean {
  return vmRunsTdi(p, vm) && fenceVm(p, vm, cause);
}

/** TIO_ASID_FENCE_STATUS's status word for `asid`. */
export function fenceStatusWord(sev: SevState, asid: number): number {
  const fenced = sev.fences.has(asid);
  const dma = fenced ? TIO_FENCE_DMA_STATUS_ERROR_FENCED : TIO_FENCE_DMA_STATUS_NOT_FENCED;
  const mmio = fenced ? TIO_FENCE_MMIO_STATUS_FENCED : TIO_FENCE_MMIO_STATUS_NOT_FENCED;
  return dma | (mmio << TIO_FENCE_MMIO_STATUS_SHIFT);
}

/**
 * The fabric's views of a SEV-TIO platform: a TDI of a guest whose ASID is fenced does not
 * count as running, so the fabric refuses its T=1 traffic both ways.
 */
export function sevFabricViews(p: SevPlatform, linkSecure: FabricViews['linkSecure']): FabricViews {
  const base = fabricViews(p, linkSecure);
  return {
    ...base,
    tdiRunning: (rid) => {
      const vm = p.tsm.tdis.get(rid)?.vm;
      return base.tdiRunning(rid) && (vm === undefined || !asidFenced(p, vm));
    },
  };
}
