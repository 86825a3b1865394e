/**
 * The security invariants of SYSTEM.md section 5 as named predicates over a world, checked
 * after every step (by scenarios, the demo and the explorer). Each looks at the records
 * (platform, host, the device's own TDI states) and at what the step did (its events), and
 * names every violation with the invariant, the component and what broke.
 *
 * They read everything, the device's and the TSM's private state included: they are the
 * observer, not a party. The numbers are SYSTEM.md's.
 */
import type { AttestationPolicy } from '../guest/attest/policy.ts';
import { verifyEvidence } from '../guest/attest/verify.ts';
import type { GuestOpEvent } from '../guest/outcome.ts';
import type { GuestDevice, GuestState } from '../guest/state.ts';
import type { HostState } from '../host/state.ts';
import type { PlatformEvent } from '../platform/events.ts';
import { pfnKey, pfnKeyOf, type Rid } from '../platform/ids.ts';
import { pageOwner } from '../platform/memory.ts';
import { pfnEntries, pfnFrames, pfnKeys } from '../platform/pfn-table.ts';
import type { Platform } from '../platform/platform.ts';
import { septWalk } from '../platform/sept.ts';
import { asidFenced } from '../platform/sev/fence.ts';
import type { TdiStateName } from '../platform/tsm/state.ts';
import { bytesEqual, toHex } from '../wire/hex.ts';
import { encodeFunctionId } from '../wire/tdisp/header.ts';
import type { TdispDevice } from './tdisp-device.ts';

/**
 * What the invariants read of the device: its TDIs, the DSM's own view of their state, and
 * (when the view has it) what of a function's memory a scrub should have removed.
 */
export type TdispDeviceLike = Pick<TdispDevice, 'tdis'> & {
  dsm: { tdiState(fn: number): string };
  residue?(fn: number): { bar: number; offset: number } | undefined;
  /** Whether BAR memory in the range was last written by a T=0 access since a reset (I14). */
  untrustedWritten?(fn: number, bar: number, offset: number, length: number): boolean;
};

/** The world as the invariants see it after (or before) a step. */
export interface InvariantView {
  flavour: string;
  p: Platform<unknown>;
  /** The host kernel's records, when the world has a host. */
  h?: HostState;
  dev: TdispDeviceLike;
  /**
   * The firmware's name of a VM KVM knows as `kvmVm` (SEV names its guest context apart from
   * KVM's VM); identity where absent.
   */
  firmwareVmOf?: (kvmVm: string) => string;
  /** The guests' records by VM name, and bare-metal host processes' as host-process:<fn>. */
  guests?: ReadonlyMap<string, GuestState>;
  /** The guests' attestation policy, and the time they verify certificates at. */
  policy?: AttestationPolicy;
  attestAt?: Date;
}

/** Anything a step recorded: platform events, the DSM's events, host and firmware events. */
export type StepEvent = PlatformEvent | { kind: string; [k: string]: unknown };

export interface Violation {
  /** 'I1'..'I13' as SYSTEM.md numbers them; 'I14' and 'I15' are teeio's own. */
  invariant: string;
  /** Its short name ('no-host-map-of-private-bar'). */
  name: string;
  /** Where it broke: 'host/vfio', 'host/kvm', 'platform/iommu', 'device', ... */
  component: string;
  detail: string;
}

export interface Invariant {
  id: string;
  name: string;
  /** SYSTEM.md's sentence. */
  text: string;
  check(after: InvariantView, events: readonly StepEvent[], before?: InvariantView): Violation[];
}

const hex = (rid: Rid) => `0x${rid.toString(16).padStart(4, '0')}`;

/** The device's own state of the TDI at requester id `rid` (CONFIG_UNLOCKED if none). */
function deviceTdiState(v: InvariantView, rid: Rid): TdiStateName | undefined {
  const t = v.dev.tdis().find((x) => x.requesterId === rid);
  return t ? (v.dev.dsm.tdiState(t.fn) as TdiStateName) : undefined;
}

const locked = (s: TdiStateName | undefined) => s === 'CONFIG_LOCKED' || s === 'RUN';

function violation(inv: Invariant, component: string, detail: string): Violation {
  return { invariant: inv.id, name: inv.name, component, detail };
}

const I1: Invariant = {
  id: 'I1',
  name: 'no-host-map-of-private-bar',
  text: 'The host never CPU-maps, reads or writes a private BAR (no mmap of a private dma-buf).',
  check(v, events) {
    const out: Violation[] = [];
    for (const d of v.h?.vfio.devices.values() ?? []) {
      if (d.mmapped.length > 0 && locked(deviceTdiState(v, d.rid))) {
        out.push(
          violation(
            this,
            'host/vfio',
            `BAR ${d.mmapped.join(',')} of ${hex(d.rid)} mmapped while locked`,
          ),
        );
      }
    }
    // A host CPU access that completed on a BAR page mapped private to a VM.
    for (const e of events) {
      if (e.kind !== 'transaction') continue;
      const t = e as Extract<PlatformEvent, { kind: 'transaction' }>;
      if (t.domain !== 'host' || t.verdict !== 'SC') continue;
      const owner = v.p.tsm.mmioPages[pfnKeyOf(t.address)];
      if (owner) {
        out.push(
          violation(
            this,
            'platform/fabric',
            `host ${t.request} at 0x${t.address.toString(16)}, private to ${owner.vm}, completed`,
          ),
        );
      }
    }
    return out;
  },
};

const I2: Invariant = {
  id: 'I2',
  name: 'private-mmio-slot-from-own-dmabuf',
  text: 'Private-MMIO memslots come only from a VFIO dma-buf owned by the same VM.',
  check(v) {
    const out: Violation[] = [];
    if (!v.h) return out;
    for (const vm of v.h.kvm.vms.values()) {
      const fwVm = v.firmwareVmOf?.(vm.vm) ?? vm.vm;
      for (const slot of vm.memslots.values()) {
        if (slot.dmaBuf === undefined) continue;
        const buf = v.h.dmaBufs.bufs.get(slot.dmaBuf);
        if (!buf?.private) continue;
        const owner = v.p.tsm.tdis.get(buf.rid)?.vm;
        if (owner !== fwVm) {
          out.push(
            violation(
              this,
              'host/kvm',
              `${vm.vm} slot ${slot.slot} maps dma-buf ${buf.fd} of ${hex(buf.rid)} bound to ${owner ?? 'no VM'}`,
            ),
          );
        }
      }
      for (const [gfn, e] of pfnEntries(vm.mirror)) {
        if (e.kind !== 'mmio') continue;
        const owner = v.p.tsm.tdis.get(e.rid)?.vm;
        if (owner !== fwVm) {
          out.push(
            violation(
              this,
              'host/kvm',
              `${vm.vm} gfn 0x${gfn.toString(16)} maps ${hex(e.rid)} bound to ${owner ?? 'no VM'}`,
            ),
          );
        }
      }
    }
    out.push(...firmwareMmioOwners(this, v));
    return out;
  },
};

/**
 * I2 where the firmware keeps it: each private MMIO page in a VM's secure EPT is a page of a
 * BAR of the TDI the entry names, and that TDI is bound to this VM (a TDI bound to none is
 * I8's to see: unbind left it behind).
 */
function firmwareMmioOwners(inv: Invariant, v: InvariantView): Violation[] {
  const out: Violation[] = [];
  const inBar = (rid: Rid, hpfn: bigint) => {
    const page = hpfn << 12n;
    for (const b of v.p.hw.fabric.bars.values()) {
      if (b.rid === rid && page >= b.base && page < b.base + b.size) return true;
    }
    return false;
  };
  for (const [vm, sept] of v.p.hw.septs) {
    for (const [gfn, e] of pfnEntries(sept.entries)) {
      if (e.target.kind !== 'mmio' || e.state === 'removed') continue;
      const { rid, hpfn } = e.target;
      const owner = v.p.tsm.tdis.get(rid)?.vm;
      const at = `${vm} gfn 0x${gfn.toString(16)}`;
      if (!inBar(rid, hpfn)) {
        const page = `page 0x${hpfn.toString(16)}`;
        out.push(violation(inv, 'platform/sept', `${at}: ${page} is in no BAR of ${hex(rid)}`));
      } else if (owner !== undefined && owner !== vm) {
        out.push(violation(inv, 'platform/sept', `${at} maps ${hex(rid)} bound to ${owner}`));
      }
    }
  }
  return out;
}

const I3: Invariant = {
  id: 'I3',
  name: 'revoked-dmabuf-unmapped',
  text: 'A revoked dma-buf cannot be attached or mapped, and revocation unmaps it in KVM.',
  check(v) {
    const out: Violation[] = [];
    if (!v.h) return out;
    // KVM under 'phys-vec' stays notified (`mapped`) from attach to detach with nothing of
    // its own mapped (dma-buf/core.ts): what it maps is the slot's range, checked below.
    const notifiedOnly = (imp: { kind: string }) =>
      imp.kind === 'kvm' && v.h?.switches.dmaBufPfns === 'phys-vec';
    for (const buf of v.h.dmaBufs.bufs.values()) {
      if (buf.state === 'live') continue;
      for (const imp of buf.importers) {
        if (imp.mapped && !notifiedOnly(imp)) {
          out.push(
            violation(
              this,
              'host/dma-buf',
              `${buf.state} dma-buf ${buf.fd} still mapped by a ${imp.kind} importer`,
            ),
          );
        }
      }
      for (const vm of v.h.kvm.vms.values()) {
        for (const slot of vm.memslots.values()) {
          if (slot.dmaBuf !== buf.fd) continue;
          const end = slot.baseGfn + BigInt(slot.pages);
          const inSlot = (g: bigint) => g >= slot.baseGfn && g < end;
          const live = pfnFrames(vm.sharedMapped).some(inSlot) || pfnFrames(vm.mirror).some(inSlot);
          if (live) {
            out.push(
              violation(
                this,
                'host/kvm',
                `${vm.vm} slot ${slot.slot} still maps ${buf.state} dma-buf ${buf.fd}`,
              ),
            );
          }
        }
      }
    }
    return out;
  },
};

const I4: Invariant = {
  id: 'I4',
  name: 't1-only-in-run',
  text: 'T=1 MMIO and DMA happen only in RUN; no TDI outside RUN reaches private memory.',
  check(v, events, before) {
    const out: Violation[] = [];
    // What lets a TDI reach private memory is its trusted DMA context; it opens only when
    // the guest accepts it (TDG.DMAR.ACCEPT, the SNP guest's sDTE write, the Realm's VDEV
    // DMA enable): a context that became usable in a step with no guest ABI call accepting
    // it opened on the host's word, before the guest checked the TDI.
    // (A guest call that failed on the way, after the context was accepted, still asked.)
    const guestCalled = events.some(
      (e) => e.kind === 'abi' && (e as { domain?: string }).domain === 'guest',
    );
    for (const [rid, ctx] of before ? v.p.hw.iommu.secure : []) {
      if (ctx.state !== 'accepted' || guestCalled) continue;
      if (before?.p.hw.iommu.secure.get(rid)?.state === 'accepted') continue;
      out.push(
        violation(
          this,
          'platform/tsm',
          `trusted DMA of ${hex(rid)} for ${ctx.vm} opened with no accept by the guest`,
        ),
      );
    }
    for (const e of events) {
      if (e.kind !== 'transaction') continue;
      const t = e as Extract<PlatformEvent, { kind: 'transaction' }>;
      if (!t.t || t.verdict !== 'SC' || t.rid === undefined) continue;
      const s = deviceTdiState(v, t.rid);
      if (s !== 'RUN') {
        out.push(
          violation(
            this,
            'platform/fabric',
            `T=1 ${t.domain} ${t.request} of ${hex(t.rid)} completed in ${s ?? 'no TDI'}`,
          ),
        );
      }
    }
    return out;
  },
};

/** The TDI_STATE events of a step, as the DSM emits them. */
const stateChanges = (events: readonly StepEvent[]) =>
  events.filter((e) => e.kind === 'TDI_STATE') as unknown as {
    fn: number;
    from: string;
    to: string;
  }[];

const I5: Invariant = {
  id: 'I5',
  name: 'error-trigger-yields-error',
  text: 'Any of the ERROR triggers in section 2 while LOCKED/RUN yields ERROR, and a TDI in ERROR is never used for T=1 traffic again until STOP and re-attestation.',
  check(_v, events, before) {
    const out: Violation[] = [];
    // Each trigger the hardware reported, with the state the DSM left the TDI in.
    for (const e of events) {
      if (e.kind !== 'DEVICE_SECURITY_EVENT') continue;
      const { fn, event, tdiState, streams } = e as unknown as {
        fn: number;
        event: { kind: string; fromPf?: boolean; bar?: number; streamId?: number };
        tdiState: string;
        /** The streams the TDI is bound to (a stream's loss concerns only those). */
        streams?: number[];
      };
      if (tdiState !== 'CONFIG_LOCKED' && tdiState !== 'RUN') continue;
      if (event.kind === 'IDE_STREAM_INSECURE' && !streams?.includes(event.streamId ?? -1)) {
        continue;
      }
      const what =
        event.kind === 'FLR' && event.fromPf
          ? 'PF FLR'
          : event.kind === 'BAR_WRITE'
            ? `BAR${event.bar} write`
            : event.kind;
      out.push(violation(this, 'device', `${what} on fn ${fn} left its TDI in ${tdiState}`));
    }
    // T=1 traffic of a TDI that was in ERROR and has not been stopped since.
    if (before) {
      const left = new Set(
        stateChanges(events)
          .filter((c) => c.from === 'ERROR')
          .map((c) => c.fn),
      );
      for (const e of events) {
        if (e.kind !== 'transaction') continue;
        const t = e as Extract<PlatformEvent, { kind: 'transaction' }>;
        if (!t.t || t.verdict !== 'SC' || t.rid === undefined) continue;
        const tdi = before.dev.tdis().find((x) => x.requesterId === t.rid);
        if (!tdi || before.dev.dsm.tdiState(tdi.fn) !== 'ERROR' || left.has(tdi.fn)) continue;
        out.push(
          violation(
            this,
            'platform/fabric',
            `T=1 ${t.domain} ${t.request} of ${hex(t.rid)} completed while its TDI is in ERROR`,
          ),
        );
      }
    }
    return out;
  },
};

const I6: Invariant = {
  id: 'I6',
  name: 'run-exits-to-unlocked-or-error',
  text: 'RUN exits only to CONFIG_UNLOCKED or ERROR; in ERROR the guest may only read state.',
  check(_v, events) {
    const out: Violation[] = [];
    for (const e of events) {
      if (e.kind !== 'TDI_STATE') continue;
      const { fn, from, to } = e as unknown as { fn: number; from: string; to: string };
      if (from === 'RUN' && to !== 'CONFIG_UNLOCKED' && to !== 'ERROR') {
        out.push(violation(this, 'device', `TDI fn ${fn}: RUN -> ${to}`));
      }
      if (from === 'ERROR' && to !== 'CONFIG_UNLOCKED' && to !== 'ERROR') {
        out.push(violation(this, 'device', `TDI fn ${fn}: ERROR -> ${to} without STOP`));
      }
    }
    return out;
  },
};

const I7: Invariant = {
  id: 'I7',
  name: 'unlocked-means-scrubbed',
  text: 'No guest data is readable in the clear once the TDI is CONFIG_UNLOCKED (scrubbed).',
  check(v, events) {
    const out: Violation[] = [];
    if (!v.dev.residue) return out;
    // The TDIs this step returned to CONFIG_UNLOCKED (STOP, or a flavour's unbind).
    const unlocked = new Set<number>();
    for (const c of stateChanges(events)) {
      if (c.to === 'CONFIG_UNLOCKED' && c.from !== 'CONFIG_UNLOCKED') unlocked.add(c.fn);
      else unlocked.delete(c.fn);
    }
    for (const fn of unlocked) {
      if (v.dev.dsm.tdiState(fn) !== 'CONFIG_UNLOCKED') continue;
      const left = v.dev.residue(fn);
      if (left) {
        out.push(
          violation(
            this,
            'device',
            `TDI fn ${fn} is CONFIG_UNLOCKED with BAR${left.bar} offset 0x${left.offset.toString(16)} not scrubbed`,
          ),
        );
      }
    }
    return out;
  },
};

const I8: Invariant = {
  id: 'I8',
  name: 'unbind-leaves-nothing',
  text: 'After unbind no secure-EPT MMIO mapping and no trusted-IOMMU mapping of that TDI remains.',
  check(v) {
    const out: Violation[] = [];
    const bound = (rid: Rid) => v.p.tsm.tdis.get(rid)?.vm !== undefined;
    for (const [vm, sept] of v.p.hw.septs) {
      for (const [gfn, e] of pfnEntries(sept.entries)) {
        if (e.target.kind !== 'mmio' || e.state === 'removed' || bound(e.target.rid)) continue;
        out.push(
          violation(
            this,
            'platform/sept',
            `${vm} gfn 0x${gfn.toString(16)} maps unbound ${hex(e.target.rid)}`,
          ),
        );
      }
    }
    for (const [rid, ctx] of v.p.hw.iommu.secure) {
      if (!bound(rid)) {
        out.push(
          violation(
            this,
            'platform/iommu',
            `trusted DMA context of unbound ${hex(rid)} (${JSON.stringify(ctx)})`,
          ),
        );
      }
    }
    return out;
  },
};

const I9: Invariant = {
  id: 'I9',
  name: 'tdx-private-mmio-stays-while-locked',
  text: '(TDX) private MMIO stays mapped while the TDI is bound and is unmapped only after CONFIG_UNLOCKED or stream block.',
  check(v, _events, before) {
    const out: Violation[] = [];
    if (v.flavour !== 'tdx' || !before) return out;
    for (const [vm, sept] of before.p.hw.septs) {
      for (const [gfn, e] of pfnEntries(sept.entries)) {
        if (e.target.kind !== 'mmio' || e.state !== 'present') continue;
        const now = v.p.hw.septs.get(vm)?.entries[gfn];
        if (now && now.state !== 'removed') continue;
        const s = deviceTdiState(v, e.target.rid);
        const stream = v.p.tsm.devices.get(v.p.tsm.tdis.get(e.target.rid)?.device ?? -1)?.stream;
        if (locked(s) && stream?.state === 'secure') {
          out.push(
            violation(
              this,
              'platform/sept',
              `${vm} gfn 0x${gfn.toString(16)} of ${hex(e.target.rid)} removed in ${s}`,
            ),
          );
        }
      }
    }
    return out;
  },
};

/**
 * How the guest of `vm` learns that a private MMIO page of TDI `rid` went, or undefined. (A
 * page CCA destroys stays in the secure EPT as 'removed': RIPAS_DESTROYED, the Realm's next
 * access aborts; it is not gone.)
 */
function guestTold(v: InvariantView, vm: string, rid: Rid): string | undefined {
  if (!v.p.tsm.vms.has(vm)) return 'the VM is gone';
  const s = deviceTdiState(v, rid);
  if (!locked(s)) return `the TDI is ${s ?? 'gone'}`;
  const device = v.p.tsm.tdis.get(rid)?.device;
  const stream = device === undefined ? undefined : v.p.tsm.devices.get(device)?.stream;
  if (stream?.state !== 'secure') return 'the stream is blocked';
  // SEV-TIO: the IOMMU fenced the guest's ASID (its MMIO reads all ones, writes dropped).
  const sev = v.p.vendor as { guests?: unknown; fences?: unknown };
  if (v.flavour === 'sev' && sev.guests instanceof Map && sev.fences instanceof Map) {
    if (asidFenced(v.p as never, vm)) return 'the ASID is fenced';
  }
  return undefined;
}

/**
 * How the guest of `vm` learns that a T=1 DMA of its running TDI `rid` to `gpa` was dropped,
 * or undefined: its own access to the page faults (the page was taken: a denial of service,
 * as a blocked MMIO page is in I10's firmware half), what it reads of the TDI is no longer
 * RUN (the TSM's record: TDG.DEVIF.RD, TIO_MSG_TDI_INFO_REQ; CCA's VDEV and its DMA state:
 * RSI_VDEV_GET_INFO), it learns otherwise (guestTold), or the Realm is dead.
 */
function dmaDropTold(
  v: InvariantView,
  vm: string | undefined,
  rid: Rid,
  gpa: bigint,
): string | undefined {
  if (vm === undefined) return 'the TDI is unbound';
  const sept = v.p.hw.septs.get(vm);
  const page = sept ? septWalk(sept, pfnKeyOf(gpa)) : 'no secure EPT';
  if (typeof page === 'string') return `its own access to the page faults (${page})`;
  const owner = page.kind === 'memory' ? pageOwner(v.p.hw.memory, pfnKey(page.hpfn)) : undefined;
  if (owner?.kind !== 'private' || owner.vm !== vm) return 'the page is no longer its own';
  const t = v.p.tsm.tdis.get(rid);
  if (t?.state !== 'RUN') return `the TSM has the TDI in ${t?.state ?? 'no record'}`;
  const cca = v.p.vendor as { vdevs?: unknown; realms?: unknown };
  if (v.flavour === 'cca' && cca.vdevs instanceof Map && cca.realms instanceof Map) {
    const vdev = cca.vdevs.get(rid) as { state?: string; dma?: string } | undefined;
    if (vdev?.state !== 'VDEV_STARTED') return `the VDEV is ${vdev?.state ?? 'gone'}`;
    // RMI_VDEV_UNLOCK disables DMA at once, before COMMUNICATE moves the VDEV on.
    if (vdev.dma !== 'VDEV_DMA_ENABLED') return 'RSI_VDEV_GET_INFO shows its DMA disabled';
    if ((cca.realms.get(vm) as { dead?: unknown } | undefined)?.dead) return 'the Realm is dead';
  }
  return guestTold(v, vm, rid);
}

/**
 * The device's side of I10: a T=1 DMA of a TDI a guest runs (its devsec TSM accepted it:
 * `tsm` 'run') that the fabric refused, with the guest not told. Its data never arrived and
 * its buffer holds what it held before, which the guest, still reading RUN, takes for the
 * device's: silent, not a denial of service (design question 9, switch droppedDma). Bare-metal
 * host processes are the host's own (docs/roles.md): not counted.
 */
function silentDmaDrops(inv: Invariant, v: InvariantView, events: readonly StepEvent[]) {
  const out: Violation[] = [];
  const seen = new Set<Rid>();
  for (const e of events) {
    if (e.kind !== 'transaction') continue;
    const t = e as Extract<PlatformEvent, { kind: 'transaction' }>;
    if (t.domain !== 'device' || !t.t || t.verdict === 'SC' || t.rid === undefined) continue;
    if (seen.has(t.rid)) continue;
    seen.add(t.rid);
    const guest = guestRunning(v, t.rid);
    if (!guest) continue;
    const vm = v.p.tsm.tdis.get(t.rid)?.vm;
    if (dmaDropTold(v, vm, t.rid, t.address)) continue;
    out.push(
      violation(
        inv,
        'platform/iommu',
        `T=1 ${t.request} of ${hex(t.rid)} at 0x${t.address.toString(16)} dropped (${t.reason}); ${guest} still reads RUN and is not told`,
      ),
    );
  }
  return out;
}

/**
 * The guests' devices that run TDI `rid` as far as each guest knows (its devsec TSM
 * accepted it), with the guest's name. Bare-metal host processes are the host's own
 * (docs/roles.md): not counted.
 */
function* runningDevices(v: InvariantView, rid: Rid): Generator<[string, GuestDevice]> {
  for (const [name, g] of v.guests ?? []) {
    if (name.startsWith('host-process:')) continue;
    for (const d of g.devices.values()) {
      if (d.tsm === 'run' && d.interfaceId.requesterId === rid) yield [name, d];
    }
  }
}

/** The guest (by name) that runs TDI `rid` as far as it knows, if any. */
function guestRunning(v: InvariantView, rid: Rid): string | undefined {
  for (const [name] of runningDevices(v, rid)) return name;
  return undefined;
}

const I10: Invariant = {
  id: 'I10',
  name: 'no-silent-unmap',
  text: 'The host cannot silently unmap what the guest is using: TDX refuses, AMD fences the ASID, CCA kills the guest; in every case the guest learns of it.',
  check(v, events, before) {
    const out: Violation[] = [];
    // The trusted DMA path: a T=1 DMA the fabric dropped (the context blocked or removed
    // under the running TDI) is an unmap the guest must learn of, or it reads stale data.
    out.push(...silentDmaDrops(this, v, events));
    if (!before) return out;
    // The firmware's side: a private MMIO page the guest accepted, of its TDI locked or
    // running, leaves the secure EPT only with the guest told (the TDI leaves LOCKED / RUN,
    // its stream is blocked, the ASID is fenced, the page is destroyed, the VM goes).
    for (const [vm, sept] of before.p.hw.septs) {
      for (const [gfn, e] of pfnEntries(sept.entries)) {
        if (e.target.kind !== 'mmio' || e.state !== 'present') continue;
        const t = before.p.tsm.tdis.get(e.target.rid);
        if (t?.vm !== vm || !locked(t.state)) continue;
        // Blocked is not unmapped: the page cannot go elsewhere (an access faults: denial of
        // service, which the host can always do); 'removed' is destroyed, which tells.
        if (v.p.hw.septs.get(vm)?.entries[gfn] !== undefined) continue;
        if (guestTold(v, vm, e.target.rid)) continue;
        out.push(
          violation(
            this,
            'platform/sept',
            `${vm} gfn 0x${gfn.toString(16)} of ${hex(e.target.rid)} unmapped under the guest, which is not told`,
          ),
        );
      }
    }
    // The host's side: KVM does not go on as if a page were unmapped that the firmware still
    // maps (a refused unmap stays a refusal: its mirror entry stays, SYSTEM.md section 3).
    if (!before.h || !v.h) return out;
    for (const [fd, was] of before.h.kvm.vms) {
      const now = v.h.kvm.vms.get(fd);
      if (!now) continue;
      const fwVm = v.firmwareVmOf?.(now.vm) ?? now.vm;
      for (const gfn of pfnKeys(was.mirror)) {
        if (now.mirror[gfn] !== undefined) continue;
        const e = v.p.hw.septs.get(fwVm)?.entries[Number(gfn)];
        if (!e || e.state === 'removed') continue;
        out.push(
          violation(
            this,
            'host/kvm',
            `${now.vm} gfn 0x${gfn.toString(16)} dropped from KVM's mirror, still ${e.state} in the secure EPT`,
          ),
        );
      }
    }
    return out;
  },
};

/** The successful guest devsec TSM operations of a step: which, by which VM, on which device. */
function guestTsmOps(events: readonly StepEvent[], ops: readonly string[]): GuestOpEvent[] {
  return events.filter(
    (e): e is GuestOpEvent & StepEvent =>
      e.kind === 'guest' && ops.includes(String(e.op)) && e.ok === true,
  );
}

/** The guest device an operation event names, in view `v` (its VM's, else any VM's). */
function guestDevice(v: InvariantView | undefined, e: GuestOpEvent): GuestDevice | undefined {
  const id = Number(e.args.vdevId);
  if (e.vm !== undefined) return v?.guests?.get(e.vm)?.devices.get(id);
  for (const g of v?.guests?.values() ?? []) {
    const d = g.devices.get(id);
    if (d) return d;
  }
  return undefined;
}

const I11: Invariant = {
  id: 'I11',
  name: 'guest-tsm-ops-need-idle-device',
  text: 'lock, accept and unlock need no driver bound, and accept needs a DMA-idle device.',
  check(v, events, before) {
    const out: Violation[] = [];
    for (const e of guestTsmOps(events, ['tsm/lock', 'tsm/accept', 'tsm/unlock'])) {
      // What the guest had when it acted: the records before the step (else after it).
      const d = guestDevice(before ?? v, e);
      if (!d) continue;
      const who = `${e.vm ?? 'a guest'} device 0x${Number(e.args.vdevId).toString(16)}`;
      if (d.driver) out.push(violation(this, 'guest', `${e.op} of ${who} with a driver bound`));
      if (e.op === 'tsm/accept' && d.dmaActive) {
        out.push(violation(this, 'guest', `tsm/accept of ${who} while its DMA was running`));
      }
    }
    return out;
  },
};

/** The TSM's record of the TDI a guest device names (by its InterfaceID's FunctionID). */
function tsmTdiOf(v: InvariantView, d: GuestDevice) {
  const fid = encodeFunctionId(d.interfaceId);
  for (const t of v.p.tsm.tdis.values()) if (encodeFunctionId(t.interfaceId) === fid) return t;
  return undefined;
}

const I12: Invariant = {
  id: 'I12',
  name: 'guest-accepts-only-verified-evidence',
  text: 'The guest accepts a device only after LOCKED, with a report, certificate chain and measurements that satisfy its policy; a replayed or forged report is refused.',
  check(v, events, before) {
    const out: Violation[] = [];
    for (const e of guestTsmOps(events, ['tsm/accept'])) {
      const d = guestDevice(v, e);
      if (!d) continue;
      const who = `${e.vm ?? 'a guest'} device 0x${Number(e.args.vdevId).toString(16)}`;
      const bad = (why: string) => out.push(violation(this, 'guest', `${who} accepted: ${why}`));
      const a = d.attested;
      if (!a) {
        bad('no evidence was verified for this lock');
        continue;
      }
      const tdi = tsmTdiOf(v, d);
      // LOCKED first: the TDI's state as the TSM knew it before the step (the records are
      // frozen; the device itself is not).
      const was = tdi ? before?.p.tsm.tdis.get(tdi.rid)?.state : undefined;
      if (before && was !== 'CONFIG_LOCKED')
        bad(`the TDI was ${was ?? 'absent'}, not CONFIG_LOCKED`);
      // Not forged: the report is the one the device gave the TSM for this lock.
      const genuine = tdi?.report?.bytes;
      if (!genuine || !bytesEqual(genuine, a.evidence.report.bytes)) {
        bad('on a report that is not the one the device gave the TSM for this lock');
      }
      // Not replayed: bound to the nonce the guest supplied for it, never used before.
      const earlier = d.nonces.used.slice(0, d.nonces.used.lastIndexOf(a.nonce));
      if (toHex(a.evidence.nonce) !== a.nonce) {
        const old = earlier.includes(toHex(a.evidence.nonce));
        bad(`on evidence bound to ${old ? 'an earlier request (replayed)' : 'another nonce'}`);
      }
      if (earlier.includes(a.nonce)) bad('on a nonce used before');
      // Satisfies the policy: the verifier run again by the observer, on what was accepted.
      if (v.policy) {
        const r = verifyEvidence(
          v.policy,
          {
            interfaceId: d.interfaceId,
            nonce: a.evidence.nonce,
            bars: d.bars,
            usedNonces: [],
            ...(v.attestAt ? { at: v.attestAt } : {}),
          },
          a.evidence,
        );
        if (!r.ok) bad(r.reasons.map((x) => `${x.check}: ${x.message}`).join('; '));
      }
    }
    return out;
  },
};

const I13: Invariant = {
  id: 'I13',
  name: 'spdm-session-finished-by-its-kind',
  text: 'SPDM: a session established with KEY_EXCHANGE never accepts PSK_FINISH, and a PSK session never accepts FINISH (the cross-protocol attack behind CVE-2023-31127).',
  check(_v, events) {
    const out: Violation[] = [];
    for (const e of events) {
      if (e.kind !== 'SPDM_SESSION_ESTABLISHED') continue;
      const { connectionId, sessionId, sessionKind, establishedBy } = e as unknown as {
        connectionId: number;
        sessionId: number;
        sessionKind: 'dhe' | 'psk';
        establishedBy?: string;
      };
      const fits =
        sessionKind === 'dhe'
          ? establishedBy === 'FINISH'
          : establishedBy === 'PSK_FINISH' || establishedBy === 'PSK_EXCHANGE';
      if (!fits) {
        const opened = sessionKind === 'dhe' ? 'KEY_EXCHANGE' : 'PSK_EXCHANGE';
        out.push(
          violation(
            this,
            'spdm',
            `connection ${connectionId} session 0x${sessionId.toString(16)}: opened by ${opened}, established by ${establishedBy ?? 'nothing'}`,
          ),
        );
      }
    }
    return out;
  },
};

/**
 * teeio's own, beyond SYSTEM.md's 13 (design question 3, switch preLockReset). Nothing the
 * guest verifies covers device-internal state: the report names the configuration and the
 * MMIO ranges, the measurements the firmware. So what a T=1 read returns in RUN must come
 * from the function's reset state or from the guest's own T=1 writes; bytes written with
 * T=0 (by the host, or by the guest's pre-setup through the shared BAR, which the device
 * cannot tell apart) and carried through the lock are the host's choice read as trusted.
 * The device's record of T=0 writes is page-grained (PciDevice.untrustedWritten).
 */
const I14: Invariant = {
  id: 'I14',
  name: 'no-untrusted-state-in-run',
  text: "teeio's own, beyond SYSTEM.md's 13: a completed T=1 read by the guest of a TDI in RUN does not return device memory last written by a T=0 access since the function was last reset.",
  check(v, events) {
    const out: Violation[] = [];
    if (!v.dev.untrustedWritten) return out;
    for (const e of events) {
      if (e.kind !== 'transaction') continue;
      const t = e as Extract<PlatformEvent, { kind: 'transaction' }>;
      if (t.domain !== 'guest' || !t.t || t.request !== 'MemRd' || t.verdict !== 'SC') continue;
      if (t.rid === undefined) continue;
      const at = guestBarAt(v, t.rid, t.address);
      if (!at) continue;
      if (!v.dev.untrustedWritten(t.rid & 0xff, at.bar, at.offset, t.length)) continue;
      out.push(
        violation(
          this,
          'device',
          `${at.guest} read BAR${at.bar} +0x${at.offset.toString(16)} of ${hex(t.rid)} with T=1 in RUN: last written with T=0 since its last reset`,
        ),
      );
    }
    return out;
  },
};

/** The guest running TDI `rid` whose BAR holds guest physical address `gpa`, with the BAR and offset. */
function guestBarAt(
  v: InvariantView,
  rid: Rid,
  gpa: bigint,
): { guest: string; bar: number; offset: number } | undefined {
  for (const [name, d] of runningDevices(v, rid)) {
    const b = d.bars.find((x) => gpa >= x.address && gpa < x.address + x.size);
    if (b) return { guest: name, bar: b.index, offset: Number(gpa - b.address) };
  }
  return undefined;
}

/**
 * teeio's own, beyond SYSTEM.md's 13 (design question 8, switch dmaTable). I4 keeps a TDI
 * outside RUN from private memory, but nothing said which memory a running TDI's trusted DMA
 * may reach. Walking the secure EPT, the fabric refuses a page not private to the VM on every
 * access (the 'shared' answer: this cannot break there); with the IOMMU's own table
 * (the 'mirrored' answer) the IOMMU asks no owner of a page, so a page the firmware gave back
 * while the table still maps it stays in the device's reach (its writes land in the host's
 * page, its reads take the host's bytes). Checked on the tables, not on a DMA: the break is
 * there as soon as the page leaves the VM, whether or not the device is writing just then.
 */
const I15: Invariant = {
  id: 'I15',
  name: 'trusted-dma-reaches-only-own-memory',
  text: "teeio's own, beyond SYSTEM.md's 13: every page an accepted trusted DMA context can reach (its VM's secure EPT, or the IOMMU's own table of the VM) is private to that VM.",
  check(v) {
    const out: Violation[] = [];
    const iommu = v.p.hw.iommu;
    const vms = new Set<string>();
    for (const ctx of iommu.secure.values()) if (ctx.state === 'accepted') vms.add(ctx.vm);
    for (const vm of vms) {
      const mirrored = iommu.secureDmaTable === 'mirrored';
      const pages: [number, number][] = mirrored
        ? pfnEntries(iommu.mirrors.get(vm) ?? {})
        : pfnEntries(v.p.hw.septs.get(vm)?.entries ?? {}).flatMap(([gfn, e]) =>
            e.state === 'present' && e.target.kind === 'memory'
              ? [[gfn, pfnKey(e.target.hpfn)] as [number, number]]
              : [],
          );
      for (const [gfn, hpfn] of pages) {
        const o = pageOwner(v.p.hw.memory, hpfn);
        if (o?.kind === 'private' && o.vm === vm) continue;
        const whose = !o ? 'not memory' : o.kind === 'private' ? `private to ${o.vm}` : o.kind;
        out.push(
          violation(
            this,
            mirrored ? 'platform/iommu' : 'platform/sept',
            `${vm} gfn 0x${gfn.toString(16)} -> page 0x${hpfn.toString(16)} is ${whose}, still in ${vm}'s ${mirrored ? 'IOMMU table' : 'secure EPT'} for trusted DMA`,
          ),
        );
      }
    }
    return out;
  },
};

/** Every invariant, in SYSTEM.md's order, then teeio's own. */
export const INVARIANTS: readonly Invariant[] = [
  I1,
  I2,
  I3,
  I4,
  I5,
  I6,
  I7,
  I8,
  I9,
  I10,
  I11,
  I12,
  I13,
  I14,
  I15,
];

/** Every violation after a step (none: the step kept every invariant). */
export function checkInvariants(
  after: InvariantView,
  events: readonly StepEvent[],
  before?: InvariantView,
  invariants: readonly Invariant[] = INVARIANTS,
): Violation[] {
  return invariants.flatMap((inv) => inv.check(after, events, before));
}
