/**
 * A platform world: teeio's TDISP device(s) enumerated on the platform's bus, the TSM of
 * one flavour with its environment (trust anchors, seeded randomness), the device's DMA
 * going up through the fabric, and the HostMachine the untrusted host kernel runs on.
 *
 * The records are plain data (`p`, and the host's own HostState kept by whoever drives the
 * host); the engines are not (the TSM's SPDM requesters in `env`, the device model). A world
 * is cloned by cloning its records and building a new machine over the clone (`hostMachine`).
 */
import { type RandomSource, seededRandom } from '../crypto/random.ts';
import type { DeviceProfile } from '../device/pci/profile.ts';
import { nic } from '../device/profiles/index.ts';
import type { HostMachine } from '../host/machine.ts';
import type { AbiOutcome } from '../platform/abi.ts';
import type { PlatformEvent, TransactionEvent } from '../platform/events.ts';
import {
  type Bus,
  type FabricViews,
  fabricAddBar,
  fabricUpstream,
  hostMmioRead,
  hostMmioWrite,
} from '../platform/fabric.ts';
import { FLAVOURS, type FlavourName } from '../platform/flavours.ts';
import type { Rid } from '../platform/ids.ts';
import { iommuMap } from '../platform/iommu.ts';
import { createPlatform, type Platform } from '../platform/platform.ts';
import { DEFAULT_MEMORY, type PlatformHwConfig } from '../platform/state.ts';
import type { PlatformSwitches } from '../platform/switches.ts';
import { createTsmEnv, type TsmEnv } from '../platform/tsm/link.ts';
import { type ResponderFlaw, requesterConfig } from '../spdm/config.ts';
import type { SpdmEvent } from '../spdm/events.ts';
import type { SessionSecretsSink } from '../spdm/keylog.ts';
import { PCI_DOE_POLL_INTERVAL_MS } from '../transport/doe-mailbox.ts';
import type { WireTap } from '../transport/types.ts';
import { VirtualClock } from '../wire/clock.ts';
import type { RequesterTransport } from '../wire/transport.ts';
import { WorldError } from './errors.ts';
import { type FlawName, flawsIn } from './flaws.ts';
import { createTdispDevice, type TdispDevice } from './tdisp-device.ts';

export interface PlatformWorldOptions {
  flavour: FlavourName;
  /** Seed of every random choice (identities, keys, nonces). */
  seed?: string;
  /** The device profile (default: teeio's NIC). */
  profile?: DeviceProfile;
  hw?: PlatformHwConfig;
  /** The platform's design switches (platform/switches.ts). */
  switches?: Partial<PlatformSwitches>;
  /** Seeded flaws (world/flaws.ts): the DSM gets those of 'device', its SPDM responder 'spdm'. */
  flaws?: readonly FlawName[];
  /** --pcap / --keylog: the mailbox's DOE objects and the TSM's session secrets. */
  capture?: WorldCapture;
}

/** Observers a capture puts on the world (cli/capture.ts). */
export interface WorldCapture {
  onWire?: WireTap;
  onSessionSecrets?: SessionSecretsSink;
}

/** A session the device's responder established, as its event tells it. */
export type SpdmSessionEvent = Extract<SpdmEvent, { type: 'session' }>;

export interface PlatformWorld {
  flavour: FlavourName;
  p: Platform<unknown>;
  env: TsmEnv;
  random: RandomSource;
  /** Model time (the device's heartbeat watchdog); moves only when the world advances it. */
  clock: VirtualClock;
  dev: TdispDevice;
  /** The buses the fabric routes to, by bus number. */
  bus: Bus;
  views: FabricViews;
  /** What the fabric did with the device's DMA (the machine's own accesses come in outcomes). */
  events: PlatformEvent[];
  /**
   * Sessions the device's SPDM responder established (on any connection) since the world
   * last took them: how each was opened and finished (invariant I13).
   */
  spdmSessions: SpdmSessionEvent[];
  /** The host's DOE mailbox driver on function 0, lent to the firmware per call. */
  carriers: Map<Rid, RequesterTransport>;
  memoryMap: readonly { base: bigint; size: bigint }[];
}

export async function createPlatformWorld(o: PlatformWorldOptions): Promise<PlatformWorld> {
  const flavour = FLAVOURS[o.flavour];
  if (!flavour) throw new WorldError(`unknown TSM flavour '${o.flavour}'`);
  const random = seededRandom(o.seed ?? `teeio ${o.flavour}`);
  // Model time: the responder's heartbeat watchdog reads it, so a snapshot carries it too.
  const clock = new VirtualClock();
  const spdmSessions: SpdmSessionEvent[] = [];
  const dev = await createTdispDevice({
    profile: o.profile ?? nic,
    enumerate: true,
    random,
    dsm: { flaws: flawsIn(o.flaws ?? [], 'device') },
    responderConfig: {
      now: () => clock.now(),
      flaws: flawsIn(o.flaws ?? [], 'spdm') as ResponderFlaw[],
    },
    onSpdmEvent: (e) => {
      if (e.type === 'session' && e.role === 'responder' && e.phase === 'established') {
        spdmSessions.push(e);
      }
    },
  });
  const env = createTsmEnv(
    requesterConfig({
      trustAnchors: [dev.root],
      random,
      onSessionSecrets: o.capture?.onSessionSecrets,
    }),
    random,
  );
  const p = createPlatform<unknown>(flavour.create(), o.hw, o.switches);
  const views = flavour.views(p as never, (rid: Rid, streamId: number) => {
    return rid >>> 8 === dev.host.busNumber() && dev.device.streamState(streamId) === 'Secure';
  });
  const events: PlatformEvent[] = [];
  // Each transaction the fabric routed or refused is also the IOMMU's to report (switch
  // droppedDma: only 'report' makes the TSM act on it; tsm/dma-fault.ts). `p` is read at
  // the time: a restored world has new records in the same object.
  const fault = flavour.dmaFault as (
    p: never,
    e: TransactionEvent,
    running: FabricViews['tdiRunning'],
  ) => { events: PlatformEvent[] };
  const sink = (e: PlatformEvent) => {
    events.push(e);
    if (e.kind === 'transaction') events.push(...fault(p as never, e, views.tdiRunning).events);
  };
  dev.device.attachUpstream(fabricUpstream(p.hw, views, sink));
  // Enumeration routes every memory BAR of every function it found.
  for (const fn of dev.device.functions()) {
    for (const [key, base] of dev.enumerated ?? []) {
      const [f, bar] = key.split(':').map(Number);
      if (f !== fn) continue;
      const size = barSize(dev, fn, bar);
      if (size === undefined) continue;
      const route = { rid: dev.device.requesterId(fn), fn, bar, base, size };
      const r = fabricAddBar(p.hw.fabric, route).result;
      if (!r.ok) throw new WorldError(`fabric route of ${key}: ${r.error} ${r.reason}`);
    }
  }
  const bus: Bus = new Map([[dev.host.busNumber(), dev.host]]);
  // The TSM's DOE driver waits on model time and polls as Linux does: a device that never
  // answers costs 128 polls and one second of model time, not a wall-clock second of
  // event-loop turns (and the outcome does not depend on how busy the machine is).
  const carriers = new Map([
    [
      dev.device.requesterId(0),
      dev.doeTransport({ onWire: o.capture?.onWire, ...modelTime(clock) }),
    ],
  ]);
  const memoryMap = o.hw?.memory ?? DEFAULT_MEMORY;
  return {
    flavour: o.flavour,
    p,
    env,
    random,
    clock,
    dev,
    bus,
    views,
    events,
    spdmSessions,
    carriers,
    memoryMap,
  };
}

function barSize(dev: TdispDevice, fn: number, bar: number): bigint | undefined {
  const pf = dev.profile.functions.find((f) => f.fn === fn);
  const bars = pf ? pf.bars : (dev.profile.functions.find((f) => f.sriov)?.sriov?.vf.bars ?? []);
  const b = bars.find((x) => x.index === bar);
  return b && !b.io ? b.size : undefined;
}

/** The machine the untrusted host kernel runs on, over the world's current records. */
export function hostMachine(w: PlatformWorld): HostMachine {
  const flavour = FLAVOURS[w.flavour];
  const table = flavour.host as Readonly<
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
  /** The function number of `rid` on the device's bus, whether it is present now or not. */
  const fnOnBus = (rid: Rid): number => {
    if (rid >>> 8 === w.dev.host.busNumber()) return rid & 0xff;
    throw new WorldError(`no bus ${rid >>> 8} below the host bridge`);
  };
  return {
    flavour: w.flavour,
    async firmware(call, args, lend) {
      const f = table[call];
      if (!f) throw new WorldError(`${w.flavour} has no host ABI call '${call}'`);
      const carrier = lend === undefined ? undefined : w.carriers.get(lend);
      if (lend !== undefined && !carrier) {
        throw new WorldError(`no DOE mailbox at 0x${lend.toString(16)} to lend to ${call}`);
      }
      return f(w.p as never, w.env, args as never, carrier);
    },
    functions: () => w.dev.device.functions().map((fn) => w.dev.device.requesterId(fn)),
    // A function absent from the device's bus (a disabled VF) reads all-ones and drops
    // writes, as the Unsupported Request a config cycle to it gets.
    configRead: (rid, offset, size) => w.dev.host.configRead(fnOnBus(rid), offset, size),
    configWrite: (rid, offset, size, value) =>
      w.dev.host.configWrite(fnOnBus(rid), offset, size, value),
    barAddress(rid, bar) {
      // The host's own record of what enumeration assigned, present or not.
      const fn = fnOnBus(rid);
      const base = w.dev.enumerated?.get(`${fn}:${bar}`);
      const size = barSize(w.dev, fn, bar);
      return base === undefined || size === undefined ? undefined : { base, size };
    },
    mmioRead: (address, size) => hostMmioRead(w.p.hw, w.bus, address, size),
    mmioWrite: (address, data) => hostMmioWrite(w.p.hw, w.bus, address, data),
    memoryMap: w.memoryMap,
    // Getters: a restored world (snapshot.ts) has new hardware records under the same machine.
    get iommu() {
      return w.p.hw.iommu;
    },
    iommuMap: (domain, iovaPfn, hpfn, writable) =>
      iommuMap(w.p.hw.iommu, w.p.hw.memory, domain, iovaPfn, hpfn, writable),
    get sharedEpts() {
      return w.p.hw.sharedEpts;
    },
  };
}

/** DOE mailbox options for a driver that waits on the world's model time. */
export function modelTime(clock: VirtualClock): { clock: VirtualClock; pollIntervalMs: number } {
  return { clock, pollIntervalMs: PCI_DOE_POLL_INTERVAL_MS };
}
