/**
 * KVM as a dma-buf importer (KVM_MEM_VFIO_DMABUF slots, SYSTEM.md section 3 "KVM"): whether
 * a buffer may back a slot of a VM (invariant 2: private MMIO only from a dma-buf of the same
 * VM), the BAR frame behind each page of a buffer's ranges, and move_notify, which zaps the
 * slot's range, private and shared (invariant 3). The attachment itself and the pfn lookup go
 * through the dma-buf core (dmabuf-import.ts); this file reads the buffer's records and
 * writes none, so the dma-buf core may call move_notify without importing KVM's uAPI.
 */
import type { Rid } from '../../platform/ids.ts';
import { PAGE_SHIFT } from '../../platform/ids.ts';
import type { MoveNotify } from '../dma-buf/importer.ts';
import type { DmaBuf, DmaBufRange } from '../dma-buf/state.ts';
import { hostErr, hostOk } from '../outcome.ts';
import { pciTsmDeviceOf } from '../pci-tsm/core.ts';
import type { HostState } from '../state.ts';
import { mmuZapRange } from './mmu.ts';
import type { KvmVm } from './state.ts';

/** The VM a TDI is TSM-bound to, if bound. */
export function boundVmOf(h: HostState, rid: Rid): string | undefined {
  return pciTsmDeviceOf(h, rid)?.bound.get(rid)?.vm;
}

/**
 * Why `buf` may not back a slot of `vm`, or undefined when it may: its exporter's TDI is
 * TSM-bound to this VM; or it is a shared buffer no other VM has attached (the first VM to
 * attach a shared buffer owns it). A private buffer of a TDI bound elsewhere, or of no
 * binding, belongs to no VM.
 */
export function dmaBufForeign(h: HostState, buf: DmaBuf, vm: KvmVm): string | undefined {
  const bound = boundVmOf(h, buf.rid);
  if (bound === vm.vm) return undefined;
  if (buf.private) return `dma-buf ${buf.fd} is private to ${bound ?? 'no VM'}, not ${vm.vm}`;
  const other = buf.importers.find((i) => i.kind !== 'kvm' || i.vmFd !== vm.fd);
  if (other) {
    const who = other.kind === 'kvm' ? `VM fd ${other.vmFd}` : 'a device';
    return `dma-buf ${buf.fd} is attached by ${who}`;
  }
  return undefined;
}

/** Bytes in the buffer (the sum of its ranges). */
export function dmaBufSize(buf: DmaBuf): bigint {
  return buf.ranges.reduce((n, r) => n + r.length, 0n);
}

/** The BAR frame behind page `index` of `ranges` (laid end to end). */
export function dmaBufPfn(ranges: readonly DmaBufRange[], index: number): bigint | undefined {
  let left = BigInt(index);
  for (const r of ranges) {
    const pages = r.length >> PAGE_SHIFT;
    if (left < pages) return (r.address >> PAGE_SHIFT) + left;
    left -= pages;
  }
  return undefined;
}

/**
 * move_notify on a KVM importer: the exporter revoked the buffer, so KVM zaps the slot's
 * whole range, private MMIO through the driver (TDX: block, track, unmap; refused while the
 * TDI is still locked) and shared from the shared EPT. A refusal leaves the refused frames
 * in the mirror. What becomes of the attachment is the dma-buf core's (dmaBufRevoke).
 */
export const kvmMoveNotify: MoveNotify = async (m, h, importer) => {
  const op = 'kvm_dmabuf_move_notify';
  const args = { vmFd: importer.vmFd ?? -1, slot: importer.slot ?? -1 };
  const vm = importer.vmFd === undefined ? undefined : h.kvm.vms.get(importer.vmFd);
  const slot = importer.slot === undefined ? undefined : vm?.memslots.get(importer.slot);
  if (!vm || !slot || slot.dmaBuf === undefined) {
    return hostErr('kvm', op, args, 'ENOENT', 'no dma-buf memslot behind this importer');
  }
  const r = await mmuZapRange(m, h, vm, slot.baseGfn, slot.pages);
  if (!r.ok) return hostErr('kvm', op, args, r.errno, r.detail, r.events);
  return hostOk('kvm', op, args, undefined, r.events);
};
