/**
 * The machine one confidential VM runs on (guest/machine.ts), over a platform world: its
 * guest ABI calls go to the flavour's table (FLAVOURS[...].guest) by real name with the
 * VM's identity filled in as the firmware knows it from the calling vCPU or message key
 * (TDX `td`, SEV `gctx`, CCA `realm`); its hypercalls go to the VMM entry point the caller
 * supplies; its CPU accesses go through the fabric by GPA (a Realm's through the RMM's
 * check of the IPA's RIPAS first) and to RAM through its secure EPT (private GPA) or
 * shared EPT (shared GPA).
 */

import type { GuestHypercall, GuestMachine, HypercallResult } from '../guest/machine.ts';
import type { AbiOutcome } from '../platform/abi.ts';
import { realmMmioAccess } from '../platform/cca/guest-abi.ts';
import type { CcaPlatform } from '../platform/cca/rmi-pdev.ts';
import type { PlatformEvent } from '../platform/events.ts';
import { guestMmioRead, guestMmioWrite, type MmioAccess } from '../platform/fabric.ts';
import { FLAVOURS } from '../platform/flavours.ts';
import { PAGE_SIZE, pageOffset, pfnKey, pfnKeyOf, type VmId } from '../platform/ids.ts';
import { pageOwner, readPage, writePage } from '../platform/memory.ts';
import type { Outcome } from '../platform/result.ts';
import { septWalk } from '../platform/sept.ts';
import { guestOfVm, type SevPlatform } from '../platform/sev/state.ts';
import type { TsmEnv } from '../platform/tsm/link.ts';
import type { RequesterTransport } from '../wire/transport.ts';
import { WorldError } from './errors.ts';
import type { PlatformWorld } from './platform-world.ts';

export interface GuestMachineOptions {
  /** The confidential VM as the firmware names it (TD, SNP guest's VM, Realm). */
  vm: VmId;
  /** The VMM's entry point for this VM's hypercalls (host/vmm vmmHypercall, or a test's). */
  hypercall: (call: GuestHypercall) => Promise<HypercallResult>;
}

type GuestTable = Readonly<
  Record<
    string,
    (
      p: never,
      env: TsmEnv,
      a: never,
      c?: RequesterTransport,
    ) => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>
  >
>;

const allOnes = (n: number) => new Uint8Array(n).fill(0xff);

/** The machine VM `o.vm` of world `w` runs on. */
export function guestMachine(w: PlatformWorld, o: GuestMachineOptions): GuestMachine {
  const table = FLAVOURS[w.flavour].guest as unknown as GuestTable;
  const vm = o.vm;
  /** What the firmware knows of the caller without being told. */
  const identity = (): Record<string, unknown> => {
    switch (w.flavour) {
      case 'tdx':
        return { td: vm };
      case 'sev': {
        const g = guestOfVm((w.p as SevPlatform).vendor, vm);
        if (!g) throw new WorldError(`${vm} has no SNP guest context`);
        return { gctx: g.gctx };
      }
      case 'cca':
        return { realm: vm };
    }
  };
  // The PSP may talk to the device for a guest message (TDI_INFO reads the TDI's state): it
  // is lent the DSM's mailbox, as the host's TIO_GUEST_REQUEST lends it.
  const carrier = w.carriers.get(w.dev.device.requesterId(0));

  const privatePage = (gpa: bigint): number | undefined => {
    const sept = w.p.hw.septs.get(vm);
    const t = sept && septWalk(sept, pfnKeyOf(gpa));
    return t && typeof t !== 'string' && t.kind === 'memory' ? pfnKey(t.hpfn) : undefined;
  };
  const sharedPage = (gpa: bigint): number | undefined => {
    const hpfn = w.p.hw.sharedEpts.get(vm)?.[pfnKeyOf(gpa & ~w.p.hw.fabric.sharedGpaMask)];
    if (hpfn === undefined) return undefined;
    return pageOwner(w.p.hw.memory, pfnKey(hpfn))?.kind === 'shared' ? pfnKey(hpfn) : undefined;
  };
  /** The host page of each piece of [gpa, gpa + length), or undefined where one is unmapped. */
  const pieces = (gpa: bigint, length: number) => {
    const shared = (gpa & w.p.hw.fabric.sharedGpaMask) !== 0n;
    const out: { hpfn: number; offset: number; at: number; n: number }[] = [];
    let at = 0;
    while (at < length) {
      const a = gpa + BigInt(at);
      const offset = pageOffset(a);
      const n = Math.min(length - at, PAGE_SIZE - offset);
      const hpfn = shared ? sharedPage(a) : privatePage(a);
      if (hpfn === undefined) return undefined;
      out.push({ hpfn, offset, at, n });
      at += n;
    }
    return out;
  };

  const cca = (access: { size?: number; data?: Uint8Array }, gpa: bigint) => {
    const r = realmMmioAccess(w.p as CcaPlatform, w.bus, w.views, {
      realm: vm,
      ipa: gpa,
      ...access,
    });
    // A fatal abort (or a Realm dead before) completes nothing: the RMM's event says why.
    const events = r.events as PlatformEvent[];
    if (r.result.kind !== 'access') {
      return { status: 'CA' as const, data: allOnes(access.size ?? 0), events };
    }
    const a = r.result.access;
    return { status: a.status, data: 'data' in a ? a.data : undefined, events };
  };

  return {
    flavour: w.flavour,
    vm,
    async tsmCall(call, args) {
      if (!Object.hasOwn(table, call)) {
        throw new WorldError(`${w.flavour} has no guest ABI call '${call}'`);
      }
      return table[call](w.p as never, w.env, { ...args, ...identity() } as never, carrier);
    },
    hypercall: (call) => o.hypercall(call),
    mmioRead(gpa, size): Outcome<MmioAccess> {
      if (w.flavour === 'cca') {
        const r = cca({ size }, gpa);
        return { result: { status: r.status, data: r.data ?? allOnes(size) }, events: r.events };
      }
      return guestMmioRead(w.p.hw, w.bus, w.views, vm, gpa, size);
    },
    mmioWrite(gpa, data) {
      if (w.flavour === 'cca') {
        const r = cca({ data }, gpa);
        return { result: { status: r.status }, events: r.events };
      }
      return guestMmioWrite(w.p.hw, w.bus, w.views, vm, gpa, data);
    },
    memRead(gpa, length) {
      const ps = pieces(gpa, length);
      if (!ps) return undefined;
      const out = new Uint8Array(length);
      for (const p of ps) out.set(readPage(w.p.hw.memory, p.hpfn, p.offset, p.n), p.at);
      return out;
    },
    memWrite(gpa, data) {
      const ps = pieces(gpa, data.length);
      if (!ps) return false;
      for (const p of ps)
        writePage(w.p.hw.memory, p.hpfn, p.offset, data.subarray(p.at, p.at + p.n));
      return true;
    },
  };
}
