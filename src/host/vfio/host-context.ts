/**
 * Bare-metal TIO (SYSTEM.md section 6 question 2, switch `bareMetal` 'host-context'): the
 * TSM's no-VM attestation context a TSM bind without KVM gets, and the pages the host
 * process that owns it maps into it. No public kernel or firmware has this; the model builds
 * it from what every flavour already has: the firmware's VM record (TDH.MNG.CREATE,
 * SNP_GCTX_CREATE + SNP_ACTIVATE, RMI_REALM_CREATE) made through the TSM host driver with no
 * KVM VM and no vCPU behind it, private MMIO and private pages mapped into it by the driver
 * (TDH.MMIO.MAP, RMPUPDATE, RMI_VDEV_MAP ...) at the process's own addresses, which are
 * physical addresses (DPDK's IOVA-as-PA mode). The process then reaches the context's guest
 * ABI (report, accept, START) as a guest would: the firmware cannot tell them apart, which
 * is the point of the proposal and of its critics.
 */
import { PAGE_SHIFT } from '../../platform/ids.ts';
import { hostPagesFind, hostPagesFree, hostPagesTake } from '../kvm/mm.ts';
import type { HostMachine } from '../machine.ts';
import { type HostEvent, type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { tsmDriver } from '../tsm/index.ts';
import { hexRid } from './device.ts';
import type { HostContext, VfioDevice } from './state.ts';

const SUB = 'vfio';

/** The context for `d`'s bind: created and finalized in the firmware. */
export async function hostContextCreate(
  m: HostMachine,
  h: HostState,
  d: VfioDevice,
): Promise<HostOutcome<HostContext>> {
  const op = 'tsm_host_context_create';
  const vm = `host-ctx-${d.fd}`;
  const args = { rid: hexRid(d.rid), vm };
  const driver = tsmDriver(m);
  if (!driver) return hostErr(SUB, op, args, 'ENXIO', `${m.flavour}: no TSM host driver`);
  const c = await driver.vmCreate(m, h, vm);
  if (!c.ok) return hostErr(SUB, op, args, c.errno, c.detail, c.events);
  const f = await driver.vmFinalize(m, h, vm);
  const events = [...c.events, ...f.events];
  if (!f.ok) {
    events.push(...(await driver.vmDestroy(m, h, vm)).events);
    return hostErr(SUB, op, args, f.errno, f.detail, events);
  }
  return hostOk(SUB, op, args, { vm, mmio: [], memory: [] }, events);
}

/** The process's MMIO mappings of the context unmapped (after STOP, before the unbind). */
export async function hostContextUnmapMmio(
  m: HostMachine,
  h: HostState,
  ctx: HostContext,
): Promise<HostOutcome> {
  const op = 'tsm_host_context_unmap_mmio';
  const args = { vm: ctx.vm, pages: ctx.mmio.length };
  const driver = tsmDriver(m);
  if (!driver) return hostErr(SUB, op, args, 'ENXIO', `${m.flavour}: no TSM host driver`);
  const events: HostEvent[] = [];
  for (const gfn of [...ctx.mmio]) {
    const r = await driver.unmapPrivateMmio(m, h, { vm: ctx.vm, gfn });
    events.push(...r.events);
    if (!r.ok) return hostErr(SUB, op, args, r.errno, r.detail, events);
    ctx.mmio.splice(ctx.mmio.indexOf(gfn), 1);
  }
  return hostOk(SUB, op, args, undefined, events);
}

/** The context's private pages given back (scrubbed) and the context destroyed. */
export async function hostContextDestroy(
  m: HostMachine,
  h: HostState,
  ctx: HostContext,
): Promise<HostOutcome> {
  const op = 'tsm_host_context_destroy';
  const args = { vm: ctx.vm };
  const driver = tsmDriver(m);
  if (!driver) return hostErr(SUB, op, args, 'ENXIO', `${m.flavour}: no TSM host driver`);
  const events: HostEvent[] = [];
  for (const gfn of [...ctx.memory]) {
    const r = await driver.unmapPrivatePage(m, h, { vm: ctx.vm, gfn });
    events.push(...r.events);
    if (!r.ok) return hostErr(SUB, op, args, r.errno, r.detail, events);
    ctx.memory.splice(ctx.memory.indexOf(gfn), 1);
    hostPagesFree(h, [gfn]);
  }
  const r = await driver.vmDestroy(m, h, ctx.vm);
  events.push(...r.events);
  if (!r.ok) return hostErr(SUB, op, args, r.errno, r.detail, events);
  return hostOk(SUB, op, args, undefined, events);
}

/** The host context of TSM-bound device fd `fd`, or the refusal of `op`. */
function contextOf(h: HostState, fd: number): { d: VfioDevice; ctx: HostContext } | string {
  const d = h.vfio.devices.get(fd);
  if (!d) return `fd ${fd} is not a VFIO device`;
  const ctx = d.tsmBound?.hostContext;
  return ctx ? { d, ctx } : `${hexRid(d.rid)} is not bound to a host context`;
}

/**
 * The BAR page at physical frame `pfn` of the process's device mapped private into its
 * context, at the same address. -EBADF / -ENXIO no such bound device or context, -EINVAL a
 * page outside the device's BARs; the driver's errno when the firmware refuses.
 */
export async function hostContextMapMmio(
  m: HostMachine,
  h: HostState,
  a: { fd: number; pfn: bigint },
): Promise<HostOutcome> {
  const op = 'tsm_host_context_map_mmio';
  const args = { fd: a.fd, pfn: a.pfn };
  const c = contextOf(h, a.fd);
  const driver = tsmDriver(m);
  if (typeof c === 'string' || !driver) {
    return hostErr(SUB, op, args, 'ENXIO', typeof c === 'string' ? c : 'no TSM host driver');
  }
  if (c.ctx.mmio.includes(a.pfn)) return hostOk(SUB, op, args, undefined);
  const addr = a.pfn << PAGE_SHIFT;
  const inBar = [0, 1, 2, 3, 4, 5].some((bar) => {
    const b = m.barAddress(c.d.rid, bar);
    return b !== undefined && addr >= b.base && addr < b.base + b.size;
  });
  if (!inBar) return hostErr(SUB, op, args, 'EINVAL', `0x${addr.toString(16)} is in no BAR`);
  const r = await driver.mapPrivateMmio(m, h, {
    vm: c.ctx.vm,
    gfn: a.pfn,
    pfn: a.pfn,
    rid: c.d.rid,
  });
  if (!r.ok) return hostErr(SUB, op, args, r.errno, r.detail, r.events);
  c.ctx.mmio.push(a.pfn);
  return hostOk(SUB, op, args, undefined, r.events);
}

/**
 * One free host page pinned for the process and mapped private into its context at its own
 * physical address (the DMA buffer of IOVA-as-PA): its frame number. -ENOMEM no free page.
 */
export async function hostContextMapMemory(
  m: HostMachine,
  h: HostState,
  a: { fd: number },
): Promise<HostOutcome<bigint>> {
  const op = 'tsm_host_context_map_memory';
  const args = { fd: a.fd };
  const c = contextOf(h, a.fd);
  const driver = tsmDriver(m);
  if (typeof c === 'string' || !driver) {
    return hostErr(SUB, op, args, 'ENXIO', typeof c === 'string' ? c : 'no TSM host driver');
  }
  const hpfn = hostPagesFind(m, h, 1)?.[0];
  if (hpfn === undefined) return hostErr(SUB, op, args, 'ENOMEM', 'no free host page');
  const r = await driver.mapPrivatePage(m, h, { vm: c.ctx.vm, gfn: hpfn, hpfn });
  if (!r.ok) return hostErr(SUB, op, args, r.errno, r.detail, r.events);
  hostPagesTake(h, [hpfn]);
  c.ctx.memory.push(hpfn);
  return hostOk(SUB, op, { ...args, hpfn }, hpfn, r.events);
}
