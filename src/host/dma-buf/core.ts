/**
 * The dma-buf core (drivers/dma-buf/dma-buf.c) for VFIO's BAR exports: attach, map, mmap,
 * and the exporter's revoke (move_notify to every importer) and restore.
 *
 * How an importer gets the pfns is SYSTEM.md open question 7 (switch `dmaBufPfns`):
 * - 'sg-table': dma_buf_map_attachment() hands the importer a scatterlist of bus addresses,
 *   i.e. the BAR is mapped for the importer through the DMA/IOMMU path (p2pdma). KVM, which
 *   is no device, must pretend to be one and read pfns back out of DMA addresses.
 * - 'phys-vec': the exporter gives a KVM importer the physical ranges directly; nothing is
 *   mapped in any host table.
 * A private exporter (a TSM-bound TDI) offers ONLY the phys-vec path to KVM: a scatterlist
 * would mean the untrusted host mapped the private BAR into its own IOMMU domain, where a
 * device could reach it with T=0 peer-to-peer DMA, and an importer could map it for CPU
 * access. So under 'sg-table' a private buffer cannot back a KVM slot at all (-EINVAL), which
 * is the cost of that answer; under 'phys-vec' it can, and no host mapping ever exists.
 *
 * An importer's `mapped` says that move_notify must reach it. A device importer and KVM under
 * 'sg-table' are mapped from dma_buf_map_attachment until they unmap (move_notify unmaps them).
 * KVM under 'phys-vec' is a dynamic importer whose pfn lookup (dma_buf_get_pfn_unlocked) is
 * stateless: it is notified from dma_buf_attach to dma_buf_detach, whatever it has mapped.
 */
import type { AbiArg } from '../../platform/abi.ts';
import type { Rid } from '../../platform/ids.ts';
import { kvmMoveNotify } from '../kvm/dmabuf-slot.ts';
import type { HostMachine } from '../machine.ts';
import { type HostEvent, type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import type { DmaBuf, DmaBufImporter, DmaBufRange } from './state.ts';

/** Who attaches: a KVM memslot (vmFd, slot) or a device (rid). */
export type ImporterKey = Omit<DmaBufImporter, 'mapped'>;

const keyArgs = (k: ImporterKey): Record<string, AbiArg> => ({
  importer: k.kind,
  ...(k.vmFd === undefined ? {} : { vmFd: k.vmFd }),
  ...(k.slot === undefined ? {} : { slot: k.slot }),
  ...(k.rid === undefined ? {} : { rid: k.rid }),
});

const same = (i: DmaBufImporter, k: ImporterKey): boolean =>
  i.kind === k.kind && i.vmFd === k.vmFd && i.slot === k.slot && i.rid === k.rid;

/** The attachment of `k` to `buf`, if attached. */
export function dmaBufAttachmentOf(buf: DmaBuf, k: ImporterKey): DmaBufImporter | undefined {
  return buf.importers.find((i) => same(i, k));
}

/** Why `buf` cannot be used now (-ENODEV), or undefined when it is live. */
function gone(buf: DmaBuf): string | undefined {
  return buf.state === 'live' ? undefined : `dma-buf ${buf.fd} is ${buf.state}`;
}

/**
 * dma_buf_attach: -EBADF no such buffer, -EOPNOTSUPP an importer that cannot do peer-to-peer
 * (vfio_pci_dma_buf_attach: a BAR is only reachable peer to peer), -ENODEV revoked or closed,
 * -EPERM a device importer of a private buffer (only KVM may import it), -EEXIST attached.
 */
export function dmaBufAttach(
  _m: HostMachine,
  h: HostState,
  a: { fd: number; importer: ImporterKey; peer2peer?: boolean },
): HostOutcome {
  const op = 'dma_buf_attach';
  const args = { fd: a.fd, ...keyArgs(a.importer) };
  const buf = h.dmaBufs.bufs.get(a.fd);
  if (!buf) return hostErr('dma-buf', op, args, 'EBADF', `no dma-buf ${a.fd}`);
  if (a.peer2peer === false) {
    return hostErr('dma-buf', op, args, 'EOPNOTSUPP', 'the importer does not do peer-to-peer');
  }
  const why = gone(buf);
  if (why) return hostErr('dma-buf', op, args, 'ENODEV', why);
  if (buf.private && a.importer.kind !== 'kvm') {
    return hostErr('dma-buf', op, args, 'EPERM', `dma-buf ${a.fd} is private: KVM only`);
  }
  if (dmaBufAttachmentOf(buf, a.importer)) {
    return hostErr('dma-buf', op, args, 'EEXIST', 'already attached');
  }
  // KVM through the pfn interface is notified from attach on (see the header).
  const notified = a.importer.kind === 'kvm' && h.switches.dmaBufPfns === 'phys-vec';
  buf.importers.push({ ...a.importer, mapped: notified });
  return hostOk('dma-buf', op, args, undefined);
}

/** dma_buf_detach: the attachment dropped (-EBADF no buffer, -ENOENT not attached). */
export function dmaBufDetach(
  _m: HostMachine,
  h: HostState,
  a: { fd: number; importer: ImporterKey },
): HostOutcome {
  const op = 'dma_buf_detach';
  const args = { fd: a.fd, ...keyArgs(a.importer) };
  const buf = h.dmaBufs.bufs.get(a.fd);
  if (!buf) return hostErr('dma-buf', op, args, 'EBADF', `no dma-buf ${a.fd}`);
  if (!dmaBufAttachmentOf(buf, a.importer)) {
    return hostErr('dma-buf', op, args, 'ENOENT', 'not attached');
  }
  buf.importers = buf.importers.filter((i) => !same(i, a.importer));
  return hostOk('dma-buf', op, args, undefined);
}

/** One scatterlist entry: a bus address the importer's DMA reaches the BAR at. */
export interface SgEntry {
  dmaAddress: bigint;
  length: bigint;
}

/**
 * dma_buf_map_attachment: the scatterlist of bus addresses (the BAR is peer-to-peer memory
 * reached at its bus address). -EBADF, -ENODEV revoked, -ENOENT not attached, -EINVAL for a
 * private buffer (a private exporter never hands out a scatterlist; see the header).
 */
export function dmaBufMapAttachment(
  _m: HostMachine,
  h: HostState,
  a: { fd: number; importer: ImporterKey },
): HostOutcome<SgEntry[]> {
  const op = 'dma_buf_map_attachment';
  const args = { fd: a.fd, ...keyArgs(a.importer) };
  const buf = h.dmaBufs.bufs.get(a.fd);
  if (!buf) return hostErr('dma-buf', op, args, 'EBADF', `no dma-buf ${a.fd}`);
  const why = gone(buf);
  if (why) return hostErr('dma-buf', op, args, 'ENODEV', why);
  const att = dmaBufAttachmentOf(buf, a.importer);
  if (!att) return hostErr('dma-buf', op, args, 'ENOENT', 'not attached');
  if (buf.private) {
    return hostErr('dma-buf', op, args, 'EINVAL', `dma-buf ${a.fd} is private: no scatterlist`);
  }
  att.mapped = true;
  const sg = buf.ranges.map((r) => ({ dmaAddress: r.address, length: r.length }));
  return hostOk('dma-buf', op, args, sg);
}

/** dma_buf_unmap_attachment: -EBADF, -ENOENT not attached or not mapped. */
export function dmaBufUnmapAttachment(
  _m: HostMachine,
  h: HostState,
  a: { fd: number; importer: ImporterKey },
): HostOutcome {
  const op = 'dma_buf_unmap_attachment';
  const args = { fd: a.fd, ...keyArgs(a.importer) };
  const buf = h.dmaBufs.bufs.get(a.fd);
  if (!buf) return hostErr('dma-buf', op, args, 'EBADF', `no dma-buf ${a.fd}`);
  const att = dmaBufAttachmentOf(buf, a.importer);
  if (!att?.mapped) return hostErr('dma-buf', op, args, 'ENOENT', 'not mapped');
  att.mapped = false;
  return hostOk('dma-buf', op, args, undefined);
}

/**
 * The pfn ranges a KVM importer (memslot `slot` of VM `vmFd`) maps, per switch `dmaBufPfns`.
 * 'sg-table': read back from the attachment's scatterlist, so the attachment must have been
 * mapped with dma_buf_map_attachment (-EINVAL otherwise, and always for a private buffer).
 * 'phys-vec': the exporter's ranges (dma_buf_get_pfn_unlocked), no mapping needed and nothing
 * recorded: the attachment is notified from attach on. -EBADF, -ENODEV revoked, -ENOENT not
 * attached.
 */
export function dmaBufKvmPfns(
  _m: HostMachine,
  h: HostState,
  a: { fd: number; vmFd: number; slot: number },
): HostOutcome<DmaBufRange[]> {
  const op = h.switches.dmaBufPfns === 'phys-vec' ? 'dma_buf_get_pfn' : 'dma_buf_sg_pfns';
  const k: ImporterKey = { kind: 'kvm', vmFd: a.vmFd, slot: a.slot };
  const args = { fd: a.fd, vmFd: a.vmFd, slot: a.slot, via: h.switches.dmaBufPfns };
  const buf = h.dmaBufs.bufs.get(a.fd);
  if (!buf) return hostErr('dma-buf', op, args, 'EBADF', `no dma-buf ${a.fd}`);
  const why = gone(buf);
  if (why) return hostErr('dma-buf', op, args, 'ENODEV', why);
  const att = dmaBufAttachmentOf(buf, k);
  if (!att) return hostErr('dma-buf', op, args, 'ENOENT', 'not attached');
  const ranges = buf.ranges.map((r) => ({ ...r }));
  if (h.switches.dmaBufPfns === 'phys-vec') return hostOk('dma-buf', op, args, ranges);
  if (buf.private) {
    return hostErr('dma-buf', op, args, 'EINVAL', `dma-buf ${a.fd} is private: no scatterlist`);
  }
  if (!att.mapped) {
    return hostErr('dma-buf', op, args, 'EINVAL', 'the attachment is not mapped: no scatterlist');
  }
  return hostOk('dma-buf', op, args, ranges);
}

/**
 * dma_buf_mmap by the host CPU: the bus address ranges the mapping covers. -EINVAL for a
 * private exporter (invariant 1: the host never CPU-maps a private BAR; the reason VFIO's
 * private BARs are exported as dma-bufs at all), -ENODEV revoked or closed.
 */
export function dmaBufMmap(
  _m: HostMachine,
  h: HostState,
  a: { fd: number },
): HostOutcome<DmaBufRange[]> {
  const op = 'dma_buf_mmap';
  const args = { fd: a.fd };
  const buf = h.dmaBufs.bufs.get(a.fd);
  if (!buf) return hostErr('dma-buf', op, args, 'EBADF', `no dma-buf ${a.fd}`);
  if (buf.private) {
    return hostErr('dma-buf', op, args, 'EINVAL', `dma-buf ${a.fd} is private: no mmap`);
  }
  const why = gone(buf);
  if (why) return hostErr('dma-buf', op, args, 'ENODEV', why);
  return hostOk(
    'dma-buf',
    op,
    args,
    buf.ranges.map((r) => ({ ...r })),
  );
}

/**
 * The exporter revokes `fds` (vfio_pci_dma_buf_move): each becomes 'revoked' (or 'closed'
 * for good), and every mapped importer gets move_notify and must unmap. KVM zaps the slot's
 * range in the shared EPT and, through the TSM driver, the secure EPT; under 'sg-table' it
 * then unmaps its scatterlist (maps it again at its next fault), under 'phys-vec' it stays
 * notified. KVM's move_notify may be refused by the firmware (TDX will not unmap private MMIO
 * of a locked TDI): as in the kernel, where move_notify returns nothing, the revoke still
 * stands; the refusal is in the events, the frames stay in KVM's mirror and the attachment
 * stays mapped, for the invariants to see.
 */
export async function dmaBufRevoke(
  m: HostMachine,
  h: HostState,
  a: { fds: readonly number[]; final: boolean },
): Promise<HostOutcome> {
  const op = 'dma_buf_move_notify';
  const events: HostEvent[] = [];
  for (const fd of a.fds) {
    const buf = h.dmaBufs.bufs.get(fd);
    if (!buf || buf.state === 'closed') continue;
    buf.state = a.final ? 'closed' : 'revoked';
    for (const imp of buf.importers) {
      if (!imp.mapped) continue;
      if (imp.kind === 'kvm') {
        const r = await kvmMoveNotify(m, h, imp);
        events.push(...r.events);
        // dma_buf_unmap_attachment of KVM's scatterlist, once its mappings are gone.
        if (r.ok && h.switches.dmaBufPfns === 'sg-table') imp.mapped = false;
      } else {
        // A device importer unmaps its own attachment from its notifier.
        imp.mapped = false;
      }
    }
    events.push({
      kind: 'uapi',
      layer: 'dma-buf',
      op,
      args: { fd, state: buf.state },
      ok: true,
    });
  }
  return { ok: true, value: undefined, events };
}

/** The exporter restores revoked `fds` (not closed ones): importers may map them again. */
export function dmaBufRestore(h: HostState, fds: readonly number[]): HostEvent[] {
  const events: HostEvent[] = [];
  for (const fd of fds) {
    const buf = h.dmaBufs.bufs.get(fd);
    if (buf?.state !== 'revoked') continue;
    buf.state = 'live';
    events.push({ kind: 'uapi', layer: 'dma-buf', op: 'dma_buf_restore', args: { fd }, ok: true });
  }
  return events;
}

/** The exporter's BAR became private (TSM bind) or shared again (unbind). */
export function dmaBufSetPrivate(h: HostState, fds: readonly number[], priv: boolean): void {
  for (const fd of fds) {
    const buf = h.dmaBufs.bufs.get(fd);
    if (buf) buf.private = priv;
  }
}

/** The dma-bufs exported from function `rid`. */
export function dmaBufsOf(h: HostState, rid: Rid): DmaBuf[] {
  return [...h.dmaBufs.bufs.values()].filter((b) => b.rid === rid);
}
