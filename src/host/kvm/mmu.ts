/**
 * KVM's MMU for one VM (arch/x86/kvm/mmu, tdp_mmu.c with TDX's mirror root): every private
 * change goes through the flavour's TSM host driver (AUG/ADD, MMIO.MAP; block, track,
 * REMOVE/UNMAP) and the mirror secure EPT entry is written, or dropped, only after the
 * firmware call succeeded: a refused call leaves the mirror as it was and returns the
 * driver's errno. Shared mappings go to the VM's shared EPT, which the host programs itself.
 */
import type { Rid } from '../../platform/ids.ts';
import { pfnKey } from '../../platform/ids.ts';
import { sharedEptMap, sharedEptUnmap } from '../../platform/shared-ept.ts';
import type { Errno } from '../errno.ts';
import type { HostMachine } from '../machine.ts';
import type { HostEvent } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { tsmDriver } from '../tsm/index.ts';
import type { KvmVm } from './state.ts';

/** An MMU step: done, or refused with the errno and why; with the events it caused. */
export type MmuResult =
  | { ok: true; events: HostEvent[] }
  | { ok: false; errno: Errno; detail: string; events: HostEvent[] };

const hex = (n: bigint): string => `0x${n.toString(16)}`;

/** Shared `gfn` -> host or BAR frame `pfn` in the VM's shared EPT. */
export function mmuMapShared(m: HostMachine, vm: KvmVm, gfn: bigint, pfn: bigint): MmuResult {
  const r = sharedEptMap(m.sharedEpts, vm.vm, gfn, pfn);
  if (!r.result.ok) {
    return { ok: false, errno: 'EEXIST', detail: r.result.reason, events: r.events };
  }
  vm.sharedMapped[pfnKey(gfn)] = true;
  return { ok: true, events: r.events };
}

/** Private `gfn` -> guest_memfd page `hpfn`, through the driver, then the mirror. */
export async function mmuMapPrivatePage(
  m: HostMachine,
  h: HostState,
  vm: KvmVm,
  gfn: bigint,
  hpfn: bigint,
): Promise<MmuResult> {
  const driver = tsmDriver(m);
  if (!driver) return noDriver(vm, gfn);
  if (mirrorFirst(h)) vm.mirror[pfnKey(gfn)] = { kind: 'memory', hpfn };
  const r = await driver.mapPrivatePage(m, h, { vm: vm.vm, gfn, hpfn });
  if (!r.ok) return r;
  vm.mirror[pfnKey(gfn)] = { kind: 'memory', hpfn };
  return { ok: true, events: r.events };
}

/** Private `gfn` -> BAR page `pfn` of bound TDI `rid`, through the driver, then the mirror. */
export async function mmuMapPrivateMmio(
  m: HostMachine,
  h: HostState,
  vm: KvmVm,
  gfn: bigint,
  pfn: bigint,
  rid: Rid,
): Promise<MmuResult> {
  const driver = tsmDriver(m);
  if (!driver) return noDriver(vm, gfn);
  if (mirrorFirst(h)) vm.mirror[pfnKey(gfn)] = { kind: 'mmio', pfn, rid };
  const r = await driver.mapPrivateMmio(m, h, { vm: vm.vm, gfn, pfn, rid });
  if (!r.ok) return r;
  vm.mirror[pfnKey(gfn)] = { kind: 'mmio', pfn, rid };
  return { ok: true, events: r.events };
}

/**
 * Zaps `pages` guest frames from `baseGfn`: each private entry through the driver (the
 * mirror entry dropped after the firmware removed it), each shared entry from the shared
 * EPT. Stops at the first refusal: what was removed before it stays removed (the firmware
 * removed it), the refused frame and the rest stay mapped in the mirror.
 */
export async function mmuZapRange(
  m: HostMachine,
  h: HostState,
  vm: KvmVm,
  baseGfn: bigint,
  pages: number,
): Promise<MmuResult> {
  const events: HostEvent[] = [];
  for (let gfn = baseGfn; gfn < baseGfn + BigInt(pages); gfn++) {
    const r = await mmuZap(m, h, vm, gfn);
    events.push(...r.events);
    if (!r.ok) return { ...r, events };
  }
  return { ok: true, events };
}

/** Zaps one guest frame, private and shared (nothing mapped: nothing to do). */
export async function mmuZap(
  m: HostMachine,
  h: HostState,
  vm: KvmVm,
  gfn: bigint,
): Promise<MmuResult> {
  const events: HostEvent[] = [];
  const e = vm.mirror[pfnKey(gfn)];
  if (e) {
    const driver = tsmDriver(m);
    if (!driver) return noDriver(vm, gfn);
    if (mirrorFirst(h)) delete vm.mirror[pfnKey(gfn)];
    const r =
      e.kind === 'memory'
        ? await driver.unmapPrivatePage(m, h, { vm: vm.vm, gfn })
        : await driver.unmapPrivateMmio(m, h, { vm: vm.vm, gfn });
    if (!r.ok) return r;
    delete vm.mirror[pfnKey(gfn)];
    events.push(...r.events);
  }
  if (vm.sharedMapped[pfnKey(gfn)] !== undefined) {
    const r = sharedEptUnmap(m.sharedEpts, vm.vm, gfn);
    events.push(...r.events);
    // KVM's record and the table it programs disagree: a host bug, not a guest's doing.
    if (!r.result.ok) return { ok: false, errno: 'EIO', detail: r.result.reason, events };
    delete vm.sharedMapped[pfnKey(gfn)];
  }
  return { ok: true, events };
}

/**
 * Seeded flaw 'kvm-mirror-before-firmware': the mirror entry is written, or dropped, before
 * the firmware call rather than after it succeeded, and left so when the call is refused.
 */
const mirrorFirst = (h: HostState): boolean =>
  h.kvm.flaws?.includes('kvm-mirror-before-firmware') === true;

function noDriver(vm: KvmVm, gfn: bigint): MmuResult {
  return {
    ok: false,
    errno: 'EIO',
    detail: `${vm.vm} gfn ${hex(gfn)}: no TSM host driver for private memory`,
    events: [],
  };
}
