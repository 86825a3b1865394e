/**
 * A whole world (SYSTEM.md section 1): teeio's device on a platform of one TSM flavour, the
 * untrusted host kernel with its design switches, the VMM (QEMU's part) and one
 * confidential guest per VM, joined as on real machines: the guest reaches its firmware
 * through its guest ABI and the host only through hypercalls; the host reaches the device
 * through config space, BAR accesses and the firmware's host ABI.
 *
 * Everything happens as an operation by its real name ('host.tsm/connect', 'vmm.assign',
 * 'guest.tsm/lock', ...) that returns a StepResult with every event it caused; scenarios,
 * the demo and the explorer drive the world only through `perform`. Records are plain
 * data (platform, HostState, VmmState, GuestState); `view()` hands them to the invariants.
 */

import { boundStreams } from '../device/dsm/tdi.ts';
import type { DeviceProfile } from '../device/pci/profile.ts';
import { resolveProfile } from '../device/profiles/load.ts';
import { type AttestationPolicy, loadPolicy } from '../guest/attest/index.ts';
import type { GuestHypercall, GuestMachine, HypercallResult } from '../guest/machine.ts';
import type { GuestRole, GuestState } from '../guest/state.ts';
import type { HostMachine } from '../host/machine.ts';
import { createHostState, type HostState } from '../host/state.ts';
import type { HostSwitches } from '../host/switches.ts';
import { sevGuestOf } from '../host/tsm/sev/index.ts';
import { createVmmState, type VmmState, vmmHypercall, vmmRun } from '../host/vmm/index.ts';
import type { FlavourName } from '../platform/flavours.ts';
import { PAGE_SHIFT, pfnKey } from '../platform/ids.ts';
import {
  type MsixTable,
  msixTableOf,
  type PlatformSwitches,
  platformSwitchesOf,
} from '../platform/switches.ts';
import { clonePlain } from '../wire/clone.ts';
import { WorldError } from './errors.ts';
import { checkFlaws, type FlawName, flawsIn } from './flaws.ts';
import { guestMachine } from './guest-machine.ts';
import type { InvariantView, StepEvent } from './invariants.ts';
import { OPS, type StepResult } from './ops/index.ts';
import { ATTEST_AT } from './ops/result.ts';
import {
  createPlatformWorld,
  hostMachine,
  type PlatformWorld,
  type WorldCapture,
} from './platform-world.ts';
import {
  type PlatformWorldSnapshot,
  restorePlatformWorld,
  snapshotPlatformWorld,
} from './snapshot.ts';
import { Trace } from './trace.ts';

/** Who takes an assigned device to RUN inside the guest (SYSTEM.md section 1, VFIO's roles). */
export type { GuestRole } from '../guest/state.ts';

export interface WorldVmConfig {
  name: string;
  /** Guest RAM in 4 KiB pages (default 64). */
  ramPages?: number;
  /** The TDIs (by function number) the VMM assigns to this VM. */
  devices?: { tdi: number; role?: GuestRole }[];
}

export interface WorldConfig {
  flavour: FlavourName;
  seed?: string;
  /** A device profile, or a built-in profile's name or a profile file (default: the NIC). */
  profile?: DeviceProfile | string;
  /** The design switches of both layers (host/switches.ts, platform/switches.ts). */
  switches?: Partial<HostSwitches & PlatformSwitches>;
  /** Default: one VM 'vm1' given the device's first TDI. */
  vms?: WorldVmConfig[];
  /** The guests' attestation policy, or its file (docs/policy.md); default: the device's root. */
  policy?: AttestationPolicy | string;
  /** Seeded flaws switched on (world/flaws.ts); each component gets its own. */
  flaws?: readonly string[];
}

/** One step as scenarios name it: 'actor.operation', the VM and TDI it concerns, arguments. */
export interface WorldStep {
  do: string;
  vm?: string;
  tdi?: number;
  args?: Record<string, string | number | boolean>;
}

export type { StepResult } from './ops/index.ts';

/**
 * A whole world's state as one plain value: the platform world (firmware, hardware, device,
 * model time, the seeded stream), the host kernel's and the VMM's records and each guest's.
 * What the explorer forks from and keys visited states by.
 */
export interface WorldSnapshot {
  platform: PlatformWorldSnapshot;
  h: HostState;
  s: VmmState;
  vms: {
    name: string;
    vmFd?: number;
    firmwareVm?: string;
    guest?: GuestState;
    vdevs: [number, number][];
  }[];
  /** Bare-metal host processes by the function number of their TDI. */
  hostProcesses: [number, WorldHostProcess][];
}

/** Replaces the contents of a plain record, keeping the object (its holders keep working). */
function replaceContents<T extends object>(target: T, source: T): void {
  for (const k of Object.keys(target)) delete (target as Record<string, unknown>)[k];
  Object.assign(target, source);
}

/** A VM of the world: the VMM's and KVM's handles, the guest's machine and records. */
export interface WorldVm {
  name: string;
  config: WorldVmConfig;
  /** KVM's VM fd (after vmm.create-vm). */
  vmFd?: number;
  /** The name the firmware knows the VM by (the TD, the SNP guest, the Realm). */
  firmwareVm?: string;
  guest?: GuestState;
  gm?: GuestMachine;
  /** Assigned TDIs: function number -> the virtual BDF the guest sees it at. */
  vdevs: Map<number, number>;
}

/**
 * A bare-metal host process (DPDK, switch `bareMetal`) and what it holds of one TDI: its VFIO
 * device fd and vDEVICE, its own records of the device (the devsec core's and attester's of
 * guest/, which it runs) and its DMA buffer's physical address. Plain data: its machine over
 * the TSM's host context is built from the VFIO device's binding when needed
 * (ops/host-roles.ts).
 */
export interface WorldHostProcess {
  fd: number;
  vdevice: number;
  g: GuestState;
  vdevId: number;
  dma?: bigint;
}

export class World {
  readonly trace: Trace;
  readonly m: HostMachine;
  readonly h: HostState;
  readonly s: VmmState;
  readonly vms = new Map<string, WorldVm>();
  /** Bare-metal host processes by the function number of the TDI they opened. */
  readonly hostProcesses = new Map<number, WorldHostProcess>();
  policy: AttestationPolicy;
  /** The seeded flaws this world runs with. */
  readonly flaws: readonly FlawName[];
  /**
   * What the device did and saw during the current step, in order: the DSM's events, and
   * each ERROR trigger the hardware reported with the TDI's state once the DSM had it
   * (DEVICE_SECURITY_EVENT, the observer's record the invariants read).
   */
  private readonly deviceEvents: StepEvent[] = [];
  /** Steps performed so far: whoever keeps "the state the world is in" can tell it moved on. */
  performed = 0;

  private constructor(
    readonly config: WorldConfig,
    readonly pw: PlatformWorld,
    trace: Trace,
  ) {
    this.trace = trace;
    this.flaws = checkFlaws(config.flaws ?? []);
    this.m = hostMachine(pw);
    this.h = createHostState(config.switches);
    this.s = createVmmState();
    const vms = config.vms ?? [{ name: 'vm1', devices: [{ tdi: pw.dev.tdis()[0].fn }] }];
    for (const v of vms) this.vms.set(v.name, { name: v.name, config: v, vdevs: new Map() });
    this.policy =
      typeof config.policy === 'string'
        ? loadPolicy(config.policy)
        : (config.policy ?? defaultPolicy(pw, msixTableOf(pw.p.switches, config.flavour)));
  }

  /** @param capture --pcap / --keylog observers (the mailbox's objects, the TSM's secrets) */
  static async create(
    config: WorldConfig,
    trace = new Trace(),
    capture?: WorldCapture,
  ): Promise<World> {
    const pw = await createPlatformWorld({
      flavour: config.flavour,
      flaws: checkFlaws(config.flaws ?? []),
      seed: config.seed,
      switches: platformSwitchesOf(config.switches ?? {}),
      profile: typeof config.profile === 'string' ? resolveProfile(config.profile) : config.profile,
      capture,
    });
    const w = new World(config, pw, trace);
    // Each component gets its own seeded flaws, in its own records (snapshots carry them).
    const hand = (component: Parameters<typeof flawsIn>[1], set: (f: string[]) => void) => {
      const f = flawsIn(w.flaws, component);
      if (f.length > 0) set(f);
    };
    hand('host/vfio', (f) => {
      w.h.vfio.flaws = f;
    });
    hand('host/kvm', (f) => {
      w.h.kvm.flaws = f;
    });
    hand('platform/tsm', (f) => {
      pw.p.tsm.flaws = f;
    });
    pw.dev.dsm.onEvent(trace.dsmSink());
    pw.dev.dsm.onEvent((e) => w.deviceEvents.push(e as StepEvent));
    // The DSM subscribed when the device was built, so it has handled each record by the
    // time this listener sees it: the state read here is the one the trigger left.
    pw.dev.device.onSecurityEvent((r) => {
      const tdi = pw.dev.dsm.state.tdis[r.fn];
      w.deviceEvents.push({
        kind: 'DEVICE_SECURITY_EVENT',
        fn: r.fn,
        event: r.event,
        tdiState: pw.dev.dsm.tdiState(r.fn),
        // A stream's loss is reported to every function; it concerns the TDIs bound to it.
        streams: tdi === undefined ? [] : boundStreams(tdi),
      });
    });
    return w;
  }

  get flavour(): FlavourName {
    return this.config.flavour;
  }

  /** The operations by name, sorted. */
  static get operations(): ReadonlySet<string> {
    return new Set(Object.keys(OPS).sort());
  }

  get operations(): ReadonlySet<string> {
    return World.operations;
  }

  /**
   * Performs one step; its events go to the trace.
   * @throws WorldError for a step the world cannot even attempt (unknown operation or VM)
   */
  async perform(step: WorldStep): Promise<StepResult> {
    const op = Object.hasOwn(OPS, step.do) ? OPS[step.do] : undefined;
    if (!op) throw new WorldError(`unknown operation '${step.do}'`);
    this.performed++;
    const dsmBefore = this.pw.events.length;
    const traced = this.trace.records.length;
    this.deviceEvents.length = 0;
    const r = await op.run(this, step);
    // The device's DMA the fabric saw during the step belongs to it too.
    const dma = this.pw.events.slice(dsmBefore) as StepEvent[];
    this.pw.events.length = 0;
    // What the guest's hypercalls caused on the way (host and firmware events the trace took
    // straight) is the step's too: the invariants see it. The device's come below.
    const during = this.trace.records
      .slice(traced)
      .flatMap((x) => (x.kind !== 'dsm' && 'event' in x ? [x.event as StepEvent] : []));
    r.events = [...r.events, ...dma];
    this.trace.events(r.events as never);
    // So do the device's own events (the DSM's sink has traced them already).
    r.events = [...during, ...r.events, ...this.deviceEvents.splice(0)];
    // The sessions the device's SPDM responder established during the step, for the
    // invariants (I13); the trace has the messages themselves.
    for (const e of this.pw.spdmSessions.splice(0)) {
      r.events.push({
        kind: 'SPDM_SESSION_ESTABLISHED',
        connectionId: e.connectionId,
        sessionId: e.sessionId,
        sessionKind: e.kind,
        establishedBy: e.establishedBy,
      });
    }
    return r;
  }

  /**
   * The whole world now (a deep copy: later steps do not change it). Given `prev`, an
   * earlier snapshot of this world (the state before a step), what is unchanged since is
   * prev's own (wire/clone.ts): the copy costs what changed, and neither may be altered.
   */
  snapshot(prev?: WorldSnapshot): WorldSnapshot {
    const vms = [...this.vms.values()].map((v) => ({
      name: v.name,
      vmFd: v.vmFd,
      firmwareVm: v.firmwareVm,
      guest: v.guest,
      vdevs: [...v.vdevs],
    }));
    return {
      platform: snapshotPlatformWorld(this.pw, prev?.platform),
      h: clonePlain(this.h, undefined, prev?.h),
      s: clonePlain(this.s, undefined, prev?.s),
      vms: clonePlain(vms, undefined, prev?.vms),
      hostProcesses: clonePlain([...this.hostProcesses], undefined, prev?.hostProcesses),
    };
  }

  /**
   * Puts the world back to `snap` (taken from this world or one built from the same config);
   * the snapshot is not consumed.
   *
   * `now` is a snapshot the world is known to be in (the explorer's: the state its last step
   * led to, nothing having touched the world since but reads): the parts `snap` shares with
   * it (World.snapshot's `prev`) are already as `snap` has them and are left alone, so going
   * back one step costs what that step changed.
   * @throws WorldError for a snapshot of another world (flavour, VMs)
   */
  restore(snap: WorldSnapshot, now?: WorldSnapshot): void {
    const names = snap.vms.map((v) => v.name).join(',');
    if (names !== [...this.vms.keys()].join(',')) {
      throw new WorldError(`snapshot of a world with VMs '${names}' restored into another`);
    }
    restorePlatformWorld(this.pw, snap.platform, now?.platform);
    if (snap.h !== now?.h) replaceContents(this.h, clonePlain(snap.h));
    if (snap.s !== now?.s) replaceContents(this.s, clonePlain(snap.s));
    for (const [i, sv] of snap.vms.entries()) {
      const v = this.vms.get(sv.name) as WorldVm;
      v.vmFd = sv.vmFd;
      v.firmwareVm = sv.firmwareVm;
      const was = now?.vms[i];
      if (sv.guest !== was?.guest || sv.name !== was?.name) {
        v.guest = sv.guest === undefined ? undefined : clonePlain(sv.guest);
      }
      v.vdevs = new Map(sv.vdevs);
      v.gm =
        v.vmFd !== undefined && v.firmwareVm !== undefined ? this.guestMachineOf(v) : undefined;
    }
    if (snap.hostProcesses !== now?.hostProcesses) {
      this.hostProcesses.clear();
      for (const [fn, p] of clonePlain(snap.hostProcesses)) this.hostProcesses.set(fn, p);
    }
    this.pw.events.length = 0;
    this.deviceEvents.length = 0;
  }

  /** The VM a step concerns (default: the first). @throws WorldError for an unknown VM */
  vm(step: WorldStep): WorldVm {
    const name = step.vm ?? [...this.vms.keys()][0];
    const v = name === undefined ? undefined : this.vms.get(name);
    if (!v) throw new WorldError(`no VM '${step.vm}' in this world`);
    return v;
  }

  /** The function number of the TDI a step concerns (default: the VM's first device). */
  tdiFn(step: WorldStep): number {
    if (step.tdi !== undefined) return step.tdi;
    const v = step.vm !== undefined || this.vms.size ? this.vm(step) : undefined;
    const fn = v?.config.devices?.[0]?.tdi ?? this.pw.dev.tdis()[0]?.fn;
    if (fn === undefined)
      throw new WorldError(`${step.do}: no TDI named and the device has none now`);
    return fn;
  }

  /**
   * Requester id of function `fn`: a TDI present now, or one the device can have that is
   * absent now (a VF while VF Enable is clear, after its PF's reset) on the device's bus.
   * @throws WorldError when the device can never have a TDI at `fn`
   */
  rid(fn: number): number {
    const t = this.pw.dev.tdis().find((x) => x.fn === fn);
    if (t) return t.requesterId;
    const possible = this.pw.dev.profile.functions.some(
      (f) =>
        (f.fn === fn && f.tdi !== false) ||
        (f.sriov !== undefined &&
          f.sriov.vf.tdi !== false &&
          fn >= f.fn + f.sriov.firstVfOffset &&
          (fn - f.fn - f.sriov.firstVfOffset) % f.sriov.vfStride === 0 &&
          (fn - f.fn - f.sriov.firstVfOffset) / f.sriov.vfStride < f.sriov.totalVfs),
    );
    if (!possible) throw new WorldError(`the device has no TDI at function ${fn}`);
    return this.pw.dev.device.requesterId(fn);
  }

  /** The device's own state of the step's TDI. */
  tdiState(step: WorldStep): string | undefined {
    return this.pw.dev.dsm.tdiState(this.tdiFn(step));
  }

  view(): InvariantView {
    const h = this.h;
    const firmwareVmOf =
      this.flavour === 'sev' ? (kvm: string) => sevGuestOf(h, kvm)?.firmwareVm ?? kvm : undefined;
    const d = this.pw.dev;
    const dev = {
      tdis: () => d.tdis(),
      dsm: d.dsm,
      residue: (fn: number) => d.device.residue(fn),
      untrustedWritten: (fn: number, bar: number, offset: number, length: number) =>
        d.device.untrustedWritten(fn, bar, offset, length),
    };
    // The guests' records, and each bare-metal host process's (it plays the guest's part).
    const guests = new Map<string, GuestState>();
    for (const v of this.vms.values()) if (v.guest) guests.set(v.name, v.guest);
    for (const [fn, p] of this.hostProcesses) guests.set(`host-process:${fn}`, p.g);
    return {
      flavour: this.flavour,
      p: this.pw.p,
      h,
      dev,
      firmwareVmOf,
      guests,
      policy: this.policy,
      attestAt: ATTEST_AT,
    };
  }

  /** The records as they are now, the device's TDIs and their states included. */
  frozenView(): InvariantView {
    const tdis = this.pw.dev.tdis();
    const states = new Map(tdis.map((t) => [t.fn, this.pw.dev.dsm.tdiState(t.fn)]));
    const dev = {
      tdis: () => tdis,
      dsm: { tdiState: (fn: number) => states.get(fn) ?? 'CONFIG_UNLOCKED' },
    };
    const v = this.view();
    return {
      ...v,
      p: structuredClone(this.pw.p),
      h: structuredClone(this.h),
      dev,
      guests: structuredClone(v.guests),
    };
  }

  /** The VFIO device fd the VMM opened for function `fn` of VM `v`, if assigned. */
  vfioFd(v: WorldVm | undefined, fn: number): number | undefined {
    const rid = this.rid(fn);
    for (const vm of this.s.vms.values()) {
      if (v && vm.vmFd !== v.vmFd) continue;
      for (const d of vm.devices.values()) if (d.rid === rid) return d.vfioFd;
    }
    return undefined;
  }

  /**
   * The vCPU of VM `v` touching `pages` private pages at `gpa` the first time: each page not
   * mapped yet exits to KVM (KVM_RUN, a conversion if needed), as a guest's first access
   * does. The events go to the trace and are returned.
   */
  async faultIn(v: WorldVm, gpa: bigint, pages: number): Promise<StepEvent[]> {
    const vmFd = v.vmFd;
    const out: StepEvent[] = [];
    if (vmFd === undefined) return out;
    const kvm = this.h.kvm.vms.get(vmFd);
    for (let i = 0n; i < BigInt(pages); i++) {
      const page = gpa + (i << PAGE_SHIFT);
      if (kvm?.mirror[pfnKey(page >> PAGE_SHIFT)] !== undefined) continue;
      const r = await vmmRun(this.m, this.h, this.s, vmFd, { gpa: page, private: true });
      this.trace.events(r.events);
      out.push(...(r.events as StepEvent[]));
    }
    return out;
  }

  /**
   * The guest's machine: its hypercalls go to the VMM; a guest ABI accept of a GPA nobody
   * mapped yet exits to KVM first, as the vCPU's first touch of a converted page does
   * (KVM_EXIT_MEMORY_FAULT: the VMM converts, KVM maps through the TSM driver), then the
   * call runs.
   */
  guestMachineOf(v: WorldVm): GuestMachine {
    const vmFd = v.vmFd;
    const firmwareVm = v.firmwareVm;
    if (vmFd === undefined || firmwareVm === undefined) {
      throw new WorldError(`VM '${v.name}' is not created`);
    }
    const faultIn = (gpa: bigint, pages: number) => this.faultIn(v, gpa, pages);
    const hypercall = async (call: GuestHypercall): Promise<HypercallResult> => {
      if (call.op === 'tsm-guest-req' && call.message.type === 'TIO_MSG_MMIO_VALIDATE_REQ') {
        await faultIn(
          BigInt(call.message.subrangeBase as bigint),
          Number(call.message.subrangePageCount),
        );
      }
      // The guest context names the VMPCK the PSP opens the sealed message under (the seal is
      // the guest's: platform/sev/guest-seal.ts).
      if (call.op === 'tsm-guest-req' && this.flavour === 'sev') {
        const kvmName = this.s.vms.get(vmFd)?.vm ?? '';
        const gctx = sevGuestOf(this.h, kvmName)?.gctx;
        if (gctx !== undefined) call = { ...call, message: { ...call.message, gctx } };
      }
      const r = await vmmHypercall(this.m, this.h, this.s, vmFd, call);
      this.trace.events(r.events);
      return r.ok ? { ok: true, value: r.value } : { ok: false, errno: r.errno, detail: r.detail };
    };
    const base = guestMachine(this.pw, { vm: firmwareVm, hypercall });
    return {
      ...base,
      tsmCall: async (call, args) => {
        if (call === 'TDG.MMIO.ACCEPT') await faultIn(BigInt(args.gfn as bigint) << PAGE_SHIFT, 1);
        if (call === 'RSI_VDEV_VALIDATE_MAPPING') {
          const lo = BigInt(args.ipaBase as bigint);
          await faultIn(lo, Number((BigInt(args.ipaTop as bigint) - lo) >> PAGE_SHIFT));
        }
        return base.tsmCall(call, args);
      },
    };
  }
}

/** The default policy: trust the device's root; measurements as the device's profile says. */
function defaultPolicy(pw: PlatformWorld, msix: MsixTable): AttestationPolicy {
  return {
    trustAnchors: [pw.dev.root],
    leaf: { spdmEku: 'responder' },
    measurements: { reference: [], allowUnlisted: true },
    report: {
      interfaceInfo: {},
      lockFlags: { required: [], forbidden: [] },
      // A platform that leaves the MSI-X table shared locks without LOCK_MSIX: the table and
      // PBA stay out of the report, holes in their BAR.
      allowHoles: msix === 'shared',
      reference: {},
      refuseFirmwareUpdate: true,
    },
    states: ['CONFIG_LOCKED'],
  };
}
