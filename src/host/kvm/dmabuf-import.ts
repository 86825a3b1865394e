/**
 * KVM's attachment to the dma-buf behind a KVM_MEM_VFIO_DMABUF slot, through the dma-buf core
 * (drivers/dma-buf): attached when the slot is created, detached when it is deleted, and the
 * pfn behind a page looked up at each fault. How KVM gets the pfns is SYSTEM.md open question
 * 7 (switch `dmaBufPfns`):
 * - 'sg-table': KVM maps the attachment (dma_buf_map_attachment) when the slot is created and
 *   again at the first fault after a move_notify, and reads the pfns back out of the
 *   scatterlist. A private exporter hands out no scatterlist: a slot over a private buffer is
 *   refused (-EINVAL), and a slot whose buffer became private at a TSM bind cannot fault its
 *   pages in (-EIO): no private MMIO ever reaches the secure EPT this way.
 * - 'phys-vec': KVM only attaches; each fault asks the exporter for the pfns
 *   (dma_buf_get_pfn_unlocked), private buffers included.
 */
import {
  dmaBufAttach,
  dmaBufAttachmentOf,
  dmaBufDetach,
  dmaBufKvmPfns,
  dmaBufMapAttachment,
  dmaBufUnmapAttachment,
  type ImporterKey,
} from '../dma-buf/core.ts';
import type { HostMachine } from '../machine.ts';
import { type HostEvent, type HostOutcome, hostErr } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { dmaBufPfn } from './dmabuf-slot.ts';

/** The slot `slot` of VM `vmFd` over dma-buf `fd`. */
export interface KvmImport {
  fd: number;
  vmFd: number;
  slot: number;
}

const keyOf = (a: KvmImport): ImporterKey => ({ kind: 'kvm', vmFd: a.vmFd, slot: a.slot });

const sgMapped = (h: HostState, a: KvmImport): boolean => {
  const buf = h.dmaBufs.bufs.get(a.fd);
  return (
    h.switches.dmaBufPfns === 'sg-table' &&
    buf !== undefined &&
    dmaBufAttachmentOf(buf, keyOf(a))?.mapped === true
  );
};

/**
 * The slot's attachment: dma_buf_attach (KVM does peer-to-peer), and under 'sg-table'
 * dma_buf_map_attachment. A refused map detaches again, so a refusal leaves nothing; the
 * errno is the core's (-EINVAL for a private buffer's scatterlist).
 */
export function kvmDmaBufImport(m: HostMachine, h: HostState, a: KvmImport): HostOutcome {
  const importer = keyOf(a);
  const att = dmaBufAttach(m, h, { fd: a.fd, importer, peer2peer: true });
  if (!att.ok || h.switches.dmaBufPfns !== 'sg-table') return att;
  const map = dmaBufMapAttachment(m, h, { fd: a.fd, importer });
  if (map.ok) return { ok: true, value: undefined, events: [...att.events, ...map.events] };
  const undo = dmaBufDetach(m, h, { fd: a.fd, importer });
  return { ...map, events: [...att.events, ...map.events, ...undo.events] };
}

/** The slot's attachment dropped: its scatterlist unmapped if it holds one, then detached. */
export function kvmDmaBufRelease(m: HostMachine, h: HostState, a: KvmImport): HostEvent[] {
  const importer = keyOf(a);
  const events: HostEvent[] = [];
  if (sgMapped(h, a)) events.push(...dmaBufUnmapAttachment(m, h, { fd: a.fd, importer }).events);
  events.push(...dmaBufDetach(m, h, { fd: a.fd, importer }).events);
  return events;
}

/** A page's pfn, and whether this lookup mapped the attachment (to be undone if the fault fails). */
export interface KvmDmaBufPage {
  pfn: bigint;
  mappedNow: boolean;
}

/**
 * The BAR frame behind page `index` of the slot's buffer, per switch `dmaBufPfns` (under
 * 'sg-table' the attachment is mapped first when a move_notify unmapped it). The core's
 * errno when the lookup fails: -ENODEV revoked or closed, -EINVAL no scatterlist (a private
 * buffer), -ENOENT not attached.
 */
export function kvmDmaBufPage(
  m: HostMachine,
  h: HostState,
  a: KvmImport & { index: number },
): HostOutcome<KvmDmaBufPage> {
  const importer = keyOf(a);
  const events: HostEvent[] = [];
  let mappedNow = false;
  const buf = h.dmaBufs.bufs.get(a.fd);
  const att = buf && dmaBufAttachmentOf(buf, importer);
  // A revoked buffer is refused by the lookup below, before anything is mapped.
  if (h.switches.dmaBufPfns === 'sg-table' && att && !att.mapped && buf?.state === 'live') {
    const map = dmaBufMapAttachment(m, h, { fd: a.fd, importer });
    if (!map.ok) return map;
    events.push(...map.events);
    mappedNow = true;
  }
  const got = dmaBufKvmPfns(m, h, a);
  events.push(...got.events);
  if (!got.ok) {
    if (mappedNow) events.push(...dmaBufUnmapAttachment(m, h, { fd: a.fd, importer }).events);
    return { ...got, events };
  }
  const pfn = dmaBufPfn(got.value, a.index);
  if (pfn === undefined) {
    return hostErr('kvm', 'kvm_dmabuf_get_pfn', { ...a }, 'EIO', `no page ${a.index}`, events);
  }
  return { ok: true, value: { pfn, mappedNow }, events };
}

/** A fault that failed after kvmDmaBufPage mapped the attachment: unmapped again. */
export function kvmDmaBufUnfault(m: HostMachine, h: HostState, a: KvmImport): HostEvent[] {
  if (!sgMapped(h, a)) return [];
  return dmaBufUnmapAttachment(m, h, { fd: a.fd, importer: keyOf(a) }).events;
}
