/**
 * The VMM's test world: a flavour's host test world (tsm/*-world.ts) with the VMM's records
 * beside the host's, a confidential VM with RAM and the world's TDI assigned at a virtual BDF,
 * the guest's hypercalls, where the VMM put the TDI's BAR pages, and the assertions that
 * count the VMM's records in (a refusal changes neither the kernel's nor the VMM's).
 */
import assert from 'node:assert/strict';
import type { Errno } from '../../src/host/errno.ts';
import type { HostEvent, HostOutcome } from '../../src/host/outcome.ts';
import {
  createVmmState,
  type VmmDevice,
  type VmmHypercall,
  type VmmState,
  vmmAssignDevice,
  vmmCreateVm,
  vmmFinalizeVm,
  vmmHypercall,
  vmmRun,
} from '../../src/host/vmm/index.ts';
import { PAGE_SHIFT } from '../../src/platform/ids.ts';
import { pfnValues } from '../../src/platform/pfn-table.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import { type HostWorld, ok } from './world.ts';

export type VmmWorld<W extends HostWorld = HostWorld> = W & { s: VmmState };

export const withVmm = <W extends HostWorld>(w: W): VmmWorld<W> =>
  Object.assign(w, { s: createVmmState() });

/** A confidential VM of `ramPages` pages, launched; its VM fd and the firmware's name of it. */
export async function launchedVm(w: VmmWorld, ramPages = 4) {
  const vmFd = ok(await vmmCreateVm(w.m, w.h, w.s, { ramPages }));
  ok(await vmmFinalizeVm(w.m, w.h, w.s, vmFd));
  const vm = w.s.vms.get(vmFd)?.vm;
  assert.ok(vm);
  return { vmFd, vm };
}

/** The world's TDI assigned to VM `vmFd` at virtual BDF `vdevId`. */
export async function assigned(w: VmmWorld, vmFd: number, vdevId: number): Promise<VmmDevice> {
  return ok(await vmmAssignDevice(w.m, w.h, w.s, vmFd, { rid: w.rid, vdevId }));
}

export const hypercall = (w: VmmWorld, vmFd: number, call: VmmHypercall) =>
  vmmHypercall(w.m, w.h, w.s, vmFd, call);

/** The guest physical address where the VMM put bus address `pa` of the device's BARs. */
export function guestAddress(w: VmmWorld, d: VmmDevice, pa: bigint): bigint {
  for (const b of d.bars) {
    const bus = w.m.barAddress(d.rid, b.bar);
    if (bus && pa >= bus.base && pa < bus.base + bus.size) return b.gpa + (pa - bus.base);
  }
  assert.fail(`0x${pa.toString(16)} is in no BAR of the device`);
}

/**
 * The guest's page at `gpa` made private (its map-gpa hypercall) and touched privately: KVM
 * maps it through the flavour's driver into the secure EPT. Returns the VMM's outcome.
 */
export async function faultPrivate(w: VmmWorld, vmFd: number, gpa: bigint) {
  ok(await hypercall(w, vmFd, { op: 'map-gpa', gpa, pages: 1, private: true }));
  const r = await vmmRun(w.m, w.h, w.s, vmFd, { gpa, private: true });
  assert.deepEqual(ok(r), { exit: 'none', mapped: 'mmio' });
  return r;
}

/** BAR and offset of bus address `pa` of the world's TDI. */
export function barOffset(w: HostWorld, pa: bigint): { bar: number; offset: number } {
  for (let bar = 0; bar < 6; bar++) {
    const b = w.m.barAddress(w.rid, bar);
    if (b && pa >= b.base && pa < b.base + b.size) return { bar, offset: Number(pa - b.base) };
  }
  assert.fail(`0x${pa.toString(16)} is in no BAR`);
}

/** The host's uAPI and kernel operations in a trace, by name, in order. */
export const uapiOps = (events: HostEvent[], layer?: string) =>
  events.flatMap((e) => (e.kind === 'uapi' && (!layer || e.layer === layer) ? [e.op] : []));

/** The firmware calls in a trace, by name, in order. */
export const firmwareCalls = (events: HostEvent[]) =>
  events.flatMap((e) => (e.kind === 'abi' && 'call' in e ? [String(e.call)] : []));

/** No live secure-EPT entry maps MMIO (a removed one is a tombstone), and the TSM holds none. */
export function noPrivateMmio(w: HostWorld): void {
  for (const sept of w.p.hw.septs.values()) {
    for (const e of pfnValues(sept.entries)) {
      assert.ok(e.target.kind !== 'mmio' || e.state === 'removed', 'a live MMIO entry');
    }
  }
  assert.equal(w.p.tsm.tdis.get(w.rid)?.mmio.size ?? 0, 0);
}

/** Everything a VMM operation can change: its records, the host's, the firmware's, the tables. */
export const vmmHash = (w: VmmWorld) =>
  canonicalHash({
    s: w.s,
    h: w.h,
    tsm: w.p.tsm,
    vendor: w.p.vendor,
    septs: w.p.hw.septs,
    secure: w.p.hw.iommu.secure,
  });

/** Asserts a refusal with `errno` that changed none of vmmHash's records. */
export async function refusedVmm<T>(
  w: VmmWorld,
  errno: Errno,
  call: () => Promise<HostOutcome<T>> | HostOutcome<T>,
): Promise<HostOutcome<T>> {
  const before = vmmHash(w);
  const o = await call();
  assert.equal(o.ok, false, `expected ${errno}, got success`);
  if (!o.ok) assert.equal(o.errno, errno, o.detail);
  assert.equal(vmmHash(w), before, `${errno}: records changed`);
  return o;
}

export const gfnOf = (gpa: bigint) => gpa >> PAGE_SHIFT;
