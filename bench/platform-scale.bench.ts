/**
 * One TSM with 1,024 TDIs (NIC VFs: 8 NICs of 128 VFs, one SPDM session and IDE stream
 * each) bound to 64 confidential VMs: the cost of binding one more TDI (bind, LOCK, the
 * interface report; then STOP and release) and of mapping one more private MMIO page
 * (map, guest accept, block, track, unmap) when 64, 256 and 1,024 TDIs are already bound
 * with their TEE pages mapped. Flat means the per-op figures do not grow with the count.
 * Also the memory one bound TDI costs the platform and the TSM (target at most 64 KiB),
 * measured as the heap growth from 64 to 1,024 bound TDIs.
 *
 * Each count has its own world (same devices and VMs), so flatness is also printed as ratios
 * measured side by side: the per-op time at 1,024 bound over the time at 64 bound.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { seededRandom } from '../src/crypto/random.ts';
import type { DeviceProfile } from '../src/device/pci/profile.ts';
import { nic } from '../src/device/profiles/index.ts';
import { PAGE_SHIFT } from '../src/platform/ids.ts';
import { createPlatform, type Platform } from '../src/platform/platform.ts';
import { tsmConnect, tsmDeviceCreate } from '../src/platform/tsm/device.ts';
import { createTsmEnv, type TsmEnv } from '../src/platform/tsm/link.ts';
import {
  tsmMmioAccept,
  tsmMmioBlock,
  tsmMmioMap,
  tsmMmioUnmap,
  tsmTrack,
} from '../src/platform/tsm/private-mmio.ts';
import { tsmTdiRelease } from '../src/platform/tsm/release.ts';
import {
  tsmTdiBind,
  tsmTdiCreate,
  tsmTdiLock,
  tsmTdiReport,
  tsmTdiStop,
} from '../src/platform/tsm/tdi.ts';
import { tsmVmCreate, tsmVmFinalize } from '../src/platform/tsm/vm.ts';
import { requesterConfig } from '../src/spdm/config.ts';
import type { RequesterTransport } from '../src/wire/transport.ts';
import { createTdispDevice } from '../src/world/tdisp-device.ts';
import type { BenchCase, BenchFigure, BenchRatio } from './harness.ts';

const DEVICES = 8;
const VFS = 128;
const VMS = 64;
const COUNTS = [64, 256, 1024];
/** One TDI stays free for the cases to bind and unbind. */
const MAX_BOUND = DEVICES * VFS - 1;

const profile: DeviceProfile = {
  ...nic,
  functions: nic.functions.map((f) =>
    f.sriov ? { ...f, sriov: { ...f.sriov, totalVfs: VFS } } : f,
  ),
};

interface Tdi {
  rid: number;
  carrier: RequesterTransport;
  vm: string;
  /** Guest frame base of its private MMIO in its VM. */
  gfnBase: bigint;
}

interface World {
  p: Platform;
  env: TsmEnv;
  tdis: Tdi[];
  bound: number;
}

/** One world per count of bound TDIs. */
const worlds = new Map<number, World>();

function check(r: { ok: boolean; reason?: string; detail?: string }, what: string): void {
  if (!r.ok) throw new Error(`${what}: ${r.reason} ${r.detail}`);
}

async function build(): Promise<World> {
  const random = seededRandom('platform scale');
  const p = createPlatform(undefined);
  let env: TsmEnv | undefined;
  const tdis: Tdi[] = [];
  for (let vm = 0; vm < VMS; vm++) {
    check(tsmVmCreate(p, `td${vm}`), 'VM');
    check(tsmVmFinalize(p, `td${vm}`), 'finalize');
  }
  for (let d = 0; d < DEVICES; d++) {
    const dev = await createTdispDevice({
      profile,
      bus: d + 1,
      random,
      enumerate: { mmio32: 0x8000_0000n + BigInt(d) * 0x1000_0000n, mmio64: 0x40_0000_0000n },
    });
    // One TSM trusting every device's root (each device has its own identity).
    env ??= createTsmEnv(requesterConfig({ trustAnchors: [], random }), random);
    env.spdm.trustAnchors.push(dev.root);
    const carrier = dev.doeTransport();
    const fn0 = dev.device.requesterId(0);
    check(tsmDeviceCreate(p, fn0), 'device');
    // One root port models every link here, so each device's stream gets its own id.
    check(await tsmConnect(p, env, fn0, carrier, d), 'connect');
    for (const [v, t] of dev.tdis().entries()) {
      check(tsmTdiCreate(p, fn0, t.interfaceId), 'TDI');
      // Bound in the order VF 0 of every device, VF 1 of every device, ...: at every count
      // each device and each VM already has TDIs bound, the spare's included, so the counts
      // differ only in how many.
      const i = v * DEVICES + d;
      tdis[i] = { rid: t.requesterId, carrier, vm: `td${i % VMS}`, gfnBase: BigInt(i) << 8n };
    }
  }
  return { p, env: env as TsmEnv, tdis, bound: 0 };
}

async function bind(w: World, t: Tdi): Promise<void> {
  check(tsmTdiBind(w.p, t.rid, t.vm), 'bind');
  check(await tsmTdiLock(w.p, w.env, t.rid, t.carrier), 'LOCK');
  check(await tsmTdiReport(w.p, w.env, t.rid, t.carrier), 'report');
}

async function unbind(w: World, t: Tdi): Promise<void> {
  check(await tsmTdiStop(w.p, w.env, t.rid, t.carrier), 'STOP');
  check(tsmTdiRelease(w.p, t.rid), 'release');
}

/** Host pages of the TDI's TEE ranges. */
function teePages(w: World, t: Tdi): bigint[] {
  const out: bigint[] = [];
  for (const r of w.p.tsm.tdis.get(t.rid)?.report?.ranges ?? []) {
    if (r.nonTee) continue;
    for (let i = 0; i < r.pages; i++) out.push((r.base >> PAGE_SHIFT) + BigInt(i));
  }
  return out;
}

function mapAll(w: World, t: Tdi): void {
  for (const [i, hpfn] of teePages(w, t).entries()) {
    const gfn = t.gfnBase + BigInt(i);
    check(tsmMmioMap(w.p, t.vm, t.rid, gfn, hpfn), 'map');
    check(tsmMmioAccept(w.p, t.vm, gfn), 'accept');
  }
}

/** Heap after a full collection, by number of TDIs bound. */
const heapAt = new Map<number, number>();

function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * The world with `n` TDIs bound (and mapped), built on first use; the largest notes the heap
 * when it passes the first count and when it is full.
 */
async function growTo(n: number): Promise<World> {
  let w = worlds.get(n);
  if (w) return w;
  w = await build();
  worlds.set(n, w);
  while (w.bound < n) {
    const t = w.tdis[w.bound];
    await bind(w, t);
    mapAll(w, t);
    w.bound++;
    if (n === MAX_BOUND && (w.bound === COUNTS[0] || w.bound === MAX_BOUND)) {
      heapAt.set(w.bound, heapAfterGc());
    }
  }
  return w;
}

/** The TDI the cases bind and unbind: the last one, never part of the occupancy. */
const spare = (w: World) => w.tdis[w.tdis.length - 1];

function makeCases(): BenchCase[] {
  const out: BenchCase[] = [];
  for (const n of COUNTS) {
    const occupancy = Math.min(n, MAX_BOUND);
    let w: World | undefined;
    out.push({
      group: 'platform-scale',
      name: `bind + unbind one TDI, ${n} bound`,
      before: async () => {
        w = await growTo(occupancy);
      },
      fn: async () => {
        const world = w as World;
        await bind(world, spare(world));
        await unbind(world, spare(world));
      },
    });
    out.push({
      group: 'platform-scale',
      name: `map + unmap one private MMIO page, ${n} bound`,
      before: async () => {
        w = await growTo(occupancy);
        await bind(w, spare(w));
      },
      fn: () => {
        const world = w as World;
        const t = spare(world);
        const hpfn = teePages(world, t)[0];
        const gfn = t.gfnBase;
        check(tsmMmioMap(world.p, t.vm, t.rid, gfn, hpfn), 'map');
        check(tsmMmioAccept(world.p, t.vm, gfn), 'accept');
        check(tsmMmioBlock(world.p, t.vm, gfn), 'block');
        check(tsmTrack(world.p, t.vm), 'track');
        check(tsmMmioUnmap(world.p, t.vm, gfn), 'unmap');
      },
      after: async () => {
        await unbind(w as World, spare(w as World));
      },
    });
  }
  return out;
}

export const cases: BenchCase[] = makeCases();

const [few, , many] = COUNTS;
export const ratios: BenchRatio[] = [
  'bind + unbind one TDI',
  'map + unmap one private MMIO page',
].map((op) => ({
  name: `${op}: ${many} bound / ${few} bound (flat)`,
  numerator: `platform-scale/${op}, ${many} bound`,
  denominator: `platform-scale/${op}, ${few} bound`,
  target: 1.25,
}));

/**
 * Heap growth per bound TDI (its TSM records, secure-EPT entries for its TEE pages, the
 * device's lock state) from 64 to 1,023 bound.
 */
export async function figures(): Promise<BenchFigure[]> {
  const w = await growTo(MAX_BOUND);
  const first = heapAt.get(COUNTS[0]);
  const last = heapAt.get(MAX_BOUND);
  if (first === undefined || last === undefined) return [];
  const per = (last - first) / (MAX_BOUND - COUNTS[0]);
  const pages = teePages(w, w.tdis[0]).length;
  return [
    {
      name: `memory per bound TDI (${pages} private MMIO pages each)`,
      value: per / 1024,
      unit: 'KiB',
      target: 64,
    },
  ];
}
