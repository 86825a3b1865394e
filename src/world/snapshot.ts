/**
 * A platform world's whole state as one plain-data value, and its restoration in place: the
 * platform's records (hardware, the TSM core with its SPDM links, the flavour's own), the
 * device (config space, memory, DOE mailbox, IDE streams), its DSM (IDE_KM keys, TDIs),
 * the SPDM responder behind the mailbox, the host's DOE mailbox driver, model time, and the seeded random stream every
 * party draws from. What the explorer forks from; a restored world continues byte for byte as the
 * original did from the same point.
 *
 * Restoration replaces the contents of the objects the engines hold (the platform, its
 * hardware record, the device, the responder, the random source), never the objects, so
 * the fabric's upstream port, the host machine and the mailbox handler keep working.
 * Host and guest records are plain data their drivers keep; they snapshot with
 * structuredClone beside this.
 */
import type { DrbgState } from '../crypto/random.ts';
import type { DsmState } from '../device/dsm/state.ts';
import type { DeviceState } from '../device/pci/state.ts';
import type { Platform } from '../platform/platform.ts';
import type { ResponderState } from '../spdm/responder/state.ts';
import type { DoeDriverState, DoeMailboxTransport } from '../transport/doe-mailbox.ts';
import { clonePlain } from '../wire/clone.ts';
import type { RequesterTransport } from '../wire/transport.ts';
import { WorldError } from './errors.ts';
import type { PlatformWorld } from './platform-world.ts';

export interface PlatformWorldSnapshot {
  flavour: string;
  p: Platform<unknown>;
  device: DeviceState;
  dsm: DsmState;
  doeResponder: ResponderState;
  /** The host's DOE mailbox drivers (a mailbox a step marked dead is part of the state). */
  doe: Map<number, DoeDriverState>;
  /** Model time. */
  clock: number;
  /** The seeded stream's position; undefined when the world draws from the OS RNG. */
  random: DrbgState | undefined;
}

/** The host's DOE mailbox driver (tests may lend the firmware another carrier). */
const isDoeDriver = (c: RequesterTransport): c is DoeMailboxTransport =>
  'restore' in c && 'state' in c;

/** Whether `m` holds exactly `prev`'s entries, in order (its values already taken against prev's). */
function sameEntries<K, V>(m: ReadonlyMap<K, V>, prev: ReadonlyMap<K, V>): boolean {
  if (m.size !== prev.size) return false;
  const it = prev.entries();
  for (const [k, v] of m) {
    const [pk, pv] = it.next().value as [K, V];
    if (k !== pk || v !== pv) return false;
  }
  return true;
}

/**
 * The world's state now (a deep copy: later steps do not change it); what is unchanged
 * since `prev` (an earlier snapshot of this world) is prev's own (wire/clone.ts).
 */
export function snapshotPlatformWorld(
  w: PlatformWorld,
  prev?: PlatformWorldSnapshot,
): PlatformWorldSnapshot {
  const doe = new Map(
    [...w.carriers].flatMap(([rid, c]) =>
      isDoeDriver(c) ? [[rid, c.state(prev?.doe.get(rid))] as const] : [],
    ),
  );
  const random = 'state' in w.random ? (w.random as { state(): DrbgState }).state() : undefined;
  return {
    flavour: w.flavour,
    p: clonePlain(w.p, undefined, prev?.p),
    device: w.dev.device.snapshot(prev?.device),
    dsm: w.dev.dsm.snapshot(prev?.dsm),
    doeResponder: w.dev.doeResponder.stateSnapshot(prev?.doeResponder),
    doe: prev && sameEntries(doe, prev.doe) ? prev.doe : doe,
    clock: w.clock.now(),
    random: clonePlain(random, undefined, prev?.random),
  };
}

/**
 * Puts `w` back to snapshot `s` (taken from `w` or from a world built with the same
 * options). The snapshot itself is not consumed: it can be restored again. Given `now`, a
 * snapshot `w` is known to be in (World.restore), a part `s` shares with it is left as it is.
 * @throws WorldError when the snapshot is of another flavour, or carries a seeded stream
 *   the world cannot take (a world on the OS RNG).
 */
export function restorePlatformWorld(
  w: PlatformWorld,
  s: PlatformWorldSnapshot,
  now?: PlatformWorldSnapshot,
): void {
  if (s.flavour !== w.flavour) {
    throw new WorldError(`snapshot of a ${s.flavour} world restored into a ${w.flavour} world`);
  }
  const random = w.random as { restore?: (st: DrbgState) => void };
  if (s.random !== undefined && random.restore === undefined) {
    throw new WorldError('snapshot carries a seeded random stream; this world uses the OS RNG');
  }
  if (s.p !== now?.p) {
    const p = clonePlain(s.p);
    // The hardware record keeps its identity: the device's upstream port holds it.
    Object.assign(w.p.hw, p.hw);
    w.p.tsm = p.tsm;
    w.p.vendor = p.vendor;
    w.p.switches = p.switches;
  }
  if (s.device !== now?.device) w.dev.device.restore(s.device);
  if (s.dsm !== now?.dsm) {
    w.dev.dsm.restore(s.dsm);
    w.dev.syncFirmware();
  }
  if (s.doeResponder !== now?.doeResponder) w.dev.doeResponder.restore(s.doeResponder);
  for (const [rid, d] of s.doe) {
    const c = w.carriers.get(rid);
    if (c && isDoeDriver(c) && d !== now?.doe.get(rid)) c.restore(d);
  }
  w.clock.restore(s.clock);
  if (s.random !== undefined) random.restore?.(s.random);
}
