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

import type { DeviceProfile } from '../device/pci/profile.ts';
import { resolveProfile } from '../device/profiles/load.ts';
import { type AttestationPolicy, loadPolicy } from '../guest/attest/index.ts';
import { collectEvidence, verifyCollected } from '../guest/attester.ts';
import { driverBind, driverUnbind, nicRead, nicWrite } from '../guest/driver/nic.ts';
import type { GuestHypercall, GuestMachine, HypercallResult } from '../guest/machine.ts';
import type { GuestOutcome } from '../guest/outcome.ts';
import { createGuestState, type GuestDeviceConfig, type GuestState } from '../guest/state.ts';
import { tsmAccept, tsmLock, tsmUnlock } from '../guest/tsm/core.ts';
import type { HostMachine } from '../host/machine.ts';
import type { HostOutcome } from '../host/outcome.ts';
import { LINK_TSM, pciTsmConnect, pciTsmDisconnect } from '../host/pci-tsm/core.ts';
import { createHostState, type HostState } from '../host/state.ts';
import type { HostSwitches } from '../host/switches.ts';
import { sevGuestOf } from '../host/tsm/sev/index.ts';
import { vfioMmap } from '../host/vfio/regions.ts';
import { vfioConfigWrite, vfioDeviceReset } from '../host/vfio/reset.ts';
import {
  createVmmState,
  type VmmState,
  vmmAssignDevice,
  vmmCreateVm,
  vmmDestroyVm,
  vmmFinalizeVm,
  vmmHypercall,
  vmmReleaseDevice,
  vmmRun,
} from '../host/vmm/index.ts';
import type { FlavourName } from '../platform/flavours.ts';
import { PAGE_SHIFT } from '../platform/ids.ts';
import { WorldError } from './errors.ts';
import { guestMachine } from './guest-machine.ts';
import type { InvariantView, StepEvent } from './invariants.ts';
import { createPlatformWorld, hostMachine, type PlatformWorld } from './platform-world.ts';
import { Trace } from './trace.ts';

/** Who takes an assigned device to RUN inside the guest (SYSTEM.md section 1, VFIO's roles). */
export type GuestRole = 'guest-kernel' | 'vfio-attester' | 'vfio-user';

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
  switches?: Partial<HostSwitches>;
  /** Default: one VM 'vm1' given the device's first TDI. */
  vms?: WorldVmConfig[];
  /** The guests' attestation policy, or its file (docs/policy.md); default: the device's root. */
  policy?: AttestationPolicy | string;
}

/** One step as scenarios name it: 'actor.operation', the VM and TDI it concerns, arguments. */
export interface WorldStep {
  do: string;
  vm?: string;
  tdi?: number;
  args?: Record<string, string | number | boolean>;
}

/** What one operation answered: success, or the errno and why; every event it caused. */
export interface StepResult {
  ok: boolean;
  errno?: string;
  detail?: string;
  value?: unknown;
  events: StepEvent[];
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

const VDEV_BASE = 0x10;
const DEFAULT_RAM_PAGES = 64;
const MSE = 0x2;
const PCI_COMMAND = 0x04;

type Op = (w: World, step: WorldStep) => Promise<StepResult>;

const fromHost = (o: HostOutcome<unknown>): StepResult =>
  o.ok
    ? { ok: true, value: o.value, events: o.events as StepEvent[] }
    : { ok: false, errno: o.errno, detail: o.detail, events: o.events as StepEvent[] };

const fromGuest = (o: GuestOutcome<unknown>): StepResult =>
  o.ok
    ? { ok: true, value: o.value, events: o.events as StepEvent[] }
    : { ok: false, errno: o.errno, detail: o.detail, events: o.events as StepEvent[] };

const refused = (errno: string, detail: string): StepResult => ({
  ok: false,
  errno,
  detail,
  events: [],
});

export class World {
  readonly trace: Trace;
  readonly m: HostMachine;
  readonly h: HostState;
  readonly s: VmmState;
  readonly vms = new Map<string, WorldVm>();
  policy: AttestationPolicy;

  private constructor(
    readonly config: WorldConfig,
    readonly pw: PlatformWorld,
    trace: Trace,
  ) {
    this.trace = trace;
    this.m = hostMachine(pw);
    this.h = createHostState(config.switches);
    this.s = createVmmState();
    const vms = config.vms ?? [{ name: 'vm1', devices: [{ tdi: pw.dev.tdis()[0].fn }] }];
    for (const v of vms) this.vms.set(v.name, { name: v.name, config: v, vdevs: new Map() });
    this.policy =
      typeof config.policy === 'string'
        ? loadPolicy(config.policy)
        : (config.policy ?? defaultPolicy(pw, config.flavour));
  }

  static async create(config: WorldConfig, trace = new Trace()): Promise<World> {
    const pw = await createPlatformWorld({
      flavour: config.flavour,
      seed: config.seed,
      profile: typeof config.profile === 'string' ? resolveProfile(config.profile) : config.profile,
    });
    const w = new World(config, pw, trace);
    pw.dev.dsm.onEvent(trace.dsmSink());
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
    const dsmBefore = this.pw.events.length;
    const r = await op(this, step);
    // The device's DMA the fabric saw during the step belongs to it too.
    const dma = this.pw.events.slice(dsmBefore) as StepEvent[];
    this.pw.events.length = 0;
    r.events = [...r.events, ...dma];
    this.trace.events(r.events as never);
    return r;
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
    return v?.config.devices?.[0]?.tdi ?? this.pw.dev.tdis()[0].fn;
  }

  /** Requester id of function `fn`. @throws WorldError when the device has no such TDI */
  rid(fn: number): number {
    const t = this.pw.dev.tdis().find((x) => x.fn === fn);
    if (!t) throw new WorldError(`the device has no TDI at function ${fn}`);
    return t.requesterId;
  }

  /** The device's own state of the step's TDI. */
  tdiState(step: WorldStep): string | undefined {
    return this.pw.dev.dsm.tdiState(this.tdiFn(step));
  }

  view(): InvariantView {
    const h = this.h;
    const firmwareVmOf =
      this.flavour === 'sev' ? (kvm: string) => sevGuestOf(h, kvm)?.firmwareVm ?? kvm : undefined;
    return { flavour: this.flavour, p: this.pw.p, h, dev: this.pw.dev, firmwareVmOf };
  }

  frozenView(): InvariantView {
    return { ...this.view(), p: structuredClone(this.pw.p), h: structuredClone(this.h) };
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
    const faultIn = async (gpa: bigint, pages: number) => {
      const kvm = this.h.kvm.vms.get(vmFd);
      for (let i = 0n; i < BigInt(pages); i++) {
        const page = gpa + (i << PAGE_SHIFT);
        if (kvm?.mirror.has(page >> PAGE_SHIFT)) continue;
        const r = await vmmRun(this.m, this.h, this.s, vmFd, { gpa: page, private: true });
        this.trace.events(r.events);
      }
    };
    const hypercall = async (call: GuestHypercall): Promise<HypercallResult> => {
      if (call.op === 'tsm-guest-req' && call.message.type === 'TIO_MSG_MMIO_VALIDATE_REQ') {
        await faultIn(
          BigInt(call.message.subrangeBase as bigint),
          Number(call.message.subrangePageCount),
        );
      }
      // An SNP guest seals its TIO_MSG_* with its VMPCK; the guest context stands for the key.
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
function defaultPolicy(pw: PlatformWorld, flavour: FlavourName): AttestationPolicy {
  return {
    trustAnchors: [pw.dev.root],
    leaf: { spdmEku: 'responder' },
    measurements: { reference: [], allowUnlisted: true },
    report: {
      interfaceInfo: {},
      lockFlags: { required: [], forbidden: [] },
      // TDX locks without LOCK_MSIX: the MSI-X table and PBA stay out of the report.
      allowHoles: flavour === 'tdx',
      reference: {},
      refuseFirmwareUpdate: true,
    },
    states: ['CONFIG_LOCKED'],
  };
}

/** The guest side of a step: its machine, records and the device's virtual BDF. */
function guestOf(w: World, step: WorldStep) {
  const v = w.vm(step);
  const fn = w.tdiFn(step);
  const vdevId = v.vdevs.get(fn);
  if (!v.gm || !v.guest) return { error: refused('ENODEV', `VM '${v.name}' is not running`) };
  if (vdevId === undefined) {
    return { error: refused('ENODEV', `function ${fn} is not assigned to '${v.name}'`) };
  }
  return { v, gm: v.gm, g: v.guest, vdevId };
}

const arg = (step: WorldStep, name: string, dflt: number): number => {
  const x = step.args?.[name];
  if (x === undefined) return dflt;
  const n = typeof x === 'string' ? Number(x) : Number(x);
  if (!Number.isFinite(n))
    throw new WorldError(`${step.do}: argument ${name} '${x}' is not a number`);
  return n;
};

const OPS: Record<string, Op> = {
  'host.tsm/connect': async (w) =>
    fromHost(await pciTsmConnect(w.m, w.h, { dsm: w.pw.dev.device.requesterId(0), tsm: LINK_TSM })),
  'host.tsm/disconnect': async (w) =>
    fromHost(
      await pciTsmDisconnect(w.m, w.h, { dsm: w.pw.dev.device.requesterId(0), tsm: LINK_TSM }),
    ),

  'vmm.create-vm': async (w, step) => {
    const v = w.vm(step);
    if (v.vmFd !== undefined) return refused('EEXIST', `VM '${v.name}' exists`);
    const c = await vmmCreateVm(w.m, w.h, w.s, {
      ramPages: v.config.ramPages ?? DEFAULT_RAM_PAGES,
    });
    if (!c.ok) return fromHost(c);
    const f = await vmmFinalizeVm(w.m, w.h, w.s, c.value);
    const events = [...c.events, ...f.events];
    if (!f.ok) return { ...fromHost(f), events: events as StepEvent[] };
    v.vmFd = c.value;
    const kvmName = w.s.vms.get(c.value)?.vm ?? '';
    v.firmwareVm =
      w.flavour === 'sev' ? (sevGuestOf(w.h, kvmName)?.firmwareVm ?? kvmName) : kvmName;
    v.guest = createGuestState(w.flavour, [], `${w.config.seed ?? 'teeio'} ${v.name}`);
    v.gm = w.guestMachineOf(v);
    return { ok: true, value: c.value, events: events as StepEvent[] };
  },

  'vmm.assign': async (w, step) => {
    const v = w.vm(step);
    if (v.vmFd === undefined || !v.guest) return refused('EBADF', `VM '${v.name}' is not created`);
    const fn = w.tdiFn(step);
    const vdevId = VDEV_BASE + v.vdevs.size;
    const r = await vmmAssignDevice(w.m, w.h, w.s, v.vmFd, { rid: w.rid(fn), vdevId });
    if (!r.ok) return fromHost(r);
    const tdi = w.pw.dev.tdis().find((t) => t.fn === fn);
    if (!tdi) throw new WorldError(`no TDI at function ${fn}`);
    const config: GuestDeviceConfig = {
      vdevId,
      interfaceId: tdi.interfaceId,
      bars: r.value.bars.map((b) => ({ index: b.bar, address: b.gpa, size: b.size })),
      devsec: true,
    };
    const g = createGuestState(w.flavour, [config], v.guest.seed);
    for (const [id, d] of g.devices) v.guest.devices.set(id, d);
    v.vdevs.set(fn, vdevId);
    return fromHost(r);
  },

  'vmm.release': async (w, step) => {
    const v = w.vm(step);
    const fn = w.tdiFn(step);
    const vdevId = v.vdevs.get(fn);
    if (v.vmFd === undefined || vdevId === undefined) {
      return refused('ENODEV', `function ${fn} is not assigned to '${v.name}'`);
    }
    const r = await vmmReleaseDevice(w.m, w.h, w.s, v.vmFd, vdevId);
    if (r.ok) {
      v.vdevs.delete(fn);
      v.guest?.devices.delete(vdevId);
    }
    return fromHost(r);
  },

  'vmm.destroy-vm': async (w, step) => {
    const v = w.vm(step);
    if (v.vmFd === undefined) return refused('EBADF', `VM '${v.name}' is not created`);
    const r = await vmmDestroyVm(w.m, w.h, w.s, v.vmFd);
    if (r.ok) {
      v.vmFd = undefined;
      v.gm = undefined;
      v.guest = undefined;
      v.vdevs.clear();
    }
    return fromHost(r);
  },

  'guest.tsm/lock': async (w, step) => {
    const x = guestOf(w, step);
    return 'error' in x ? (x.error as StepResult) : fromGuest(await tsmLock(x.gm, x.g, x.vdevId));
  },

  'guest.attest': async (w, step) => {
    const x = guestOf(w, step);
    if ('error' in x) return x.error as StepResult;
    const c = await collectEvidence(x.gm, x.g, x.vdevId);
    if (!c.ok) return fromGuest(c);
    const v = verifyCollected(x.g, x.vdevId, w.policy, c.value, new Date(Date.UTC(2026, 0, 1)));
    const r = fromGuest(v);
    return { ...r, events: [...(c.events as StepEvent[]), ...r.events] };
  },

  'guest.tsm/accept': async (w, step) => {
    const x = guestOf(w, step);
    return 'error' in x
      ? (x.error as StepResult)
      : fromGuest(await tsmAccept(x.gm, x.g, x.vdevId, '1'));
  },

  'guest.tsm/unlock': async (w, step) => {
    const x = guestOf(w, step);
    return 'error' in x ? (x.error as StepResult) : fromGuest(await tsmUnlock(x.gm, x.g, x.vdevId));
  },

  'guest.driver/bind': async (w, step) => {
    const x = guestOf(w, step);
    return 'error' in x ? (x.error as StepResult) : fromGuest(driverBind(x.g, x.vdevId));
  },

  'guest.driver/unbind': async (w, step) => {
    const x = guestOf(w, step);
    return 'error' in x ? (x.error as StepResult) : fromGuest(driverUnbind(x.g, x.vdevId));
  },

  'guest.mmio-write': async (w, step) => {
    const x = guestOf(w, step);
    if ('error' in x) return x.error as StepResult;
    const value = arg(step, 'value', 0xcafef00d) >>> 0;
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, value, true);
    const o = nicWrite(x.gm, x.g, x.vdevId, arg(step, 'bar', 0), arg(step, 'offset', 0), data);
    return observed(o);
  },

  'guest.mmio-read': async (w, step) => {
    const x = guestOf(w, step);
    if ('error' in x) return x.error as StepResult;
    return observed(nicRead(x.gm, x.g, x.vdevId, arg(step, 'bar', 0), arg(step, 'offset', 0)));
  },

  // The untrusted host doing what it can to the device through VFIO.
  'host.mse-clear': async (w, step) => {
    const fd = w.vfioFd(undefined, w.tdiFn(step));
    if (fd === undefined)
      return refused('ENODEV', `function ${w.tdiFn(step)} is not opened by VFIO`);
    const rid = w.rid(w.tdiFn(step));
    const cmd = w.m.configRead(rid, PCI_COMMAND, 2);
    return fromHost(
      await vfioConfigWrite(w.m, w.h, { fd, offset: PCI_COMMAND, size: 2, value: cmd & ~MSE }),
    );
  },

  'host.reset': async (w, step) => {
    const fd = w.vfioFd(undefined, w.tdiFn(step));
    if (fd === undefined)
      return refused('ENODEV', `function ${w.tdiFn(step)} is not opened by VFIO`);
    return fromHost(await vfioDeviceReset(w.m, w.h, { fd }));
  },

  'host.mmap-bar': async (w, step) => {
    const fd = w.vfioFd(undefined, w.tdiFn(step));
    if (fd === undefined)
      return refused('ENODEV', `function ${w.tdiFn(step)} is not opened by VFIO`);
    return fromHost(await vfioMmap(w.m, w.h, { fd, bar: arg(step, 'bar', 0) }));
  },

  'host.mmio-read': async (w, step) => {
    const rid = w.rid(w.tdiFn(step));
    const b = w.m.barAddress(rid, arg(step, 'bar', 0));
    if (!b) return refused('EINVAL', `no BAR ${arg(step, 'bar', 0)}`);
    const o = w.m.mmioRead(b.base + BigInt(arg(step, 'offset', 0)), 4);
    const ok = o.result.status === 'SC';
    return {
      ok,
      ...(ok
        ? { value: o.result.data }
        : { errno: o.result.status, detail: 'the access completed with an error' }),
      events: o.events as StepEvent[],
    };
  },
};

/** A driver access as a step: ok when it completed; the guest's observation otherwise. */
function observed(
  o: GuestOutcome<{ kind: string; data?: Uint8Array; reason?: string }>,
): StepResult {
  if (!o.ok) return fromGuest(o);
  const seen = o.value;
  return seen.kind === 'ok'
    ? { ok: true, value: seen.data, events: o.events as StepEvent[] }
    : {
        ok: false,
        errno: seen.kind,
        detail: seen.reason ?? seen.kind,
        events: o.events as StepEvent[],
      };
}
