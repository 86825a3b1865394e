/**
 * A host test world: a platform world of one flavour (teeio's NIC enumerated on the bus, the
 * TSM, the fabric), the HostMachine over it and a fresh HostState; and assertions on host
 * outcomes that name the operation and errno when they fail.
 */
import assert from 'node:assert/strict';
import type { Errno } from '../../src/host/errno.ts';
import type { HostOutcome } from '../../src/host/outcome.ts';
import { createHostState } from '../../src/host/state.ts';
import type { HostSwitches } from '../../src/host/switches.ts';
import type { FlavourName } from '../../src/platform/flavours.ts';
import { canonicalHash } from '../../src/world/hash.ts';
import { createPlatformWorld, hostMachine } from '../../src/world/platform-world.ts';

export async function hostWorld(
  flavour: FlavourName,
  o: { seed?: string; switches?: Partial<HostSwitches> } = {},
) {
  const w = await createPlatformWorld({ flavour, seed: o.seed ?? `host ${flavour}` });
  const m = hostMachine(w);
  const h = createHostState(o.switches);
  const dsm = w.dev.device.requesterId(0);
  const tdi = w.dev.tdis()[0];
  return { ...w, w, m, h, dsm, tdi, rid: tdi.requesterId };
}

export type HostWorld = Awaited<ReturnType<typeof hostWorld>>;

/**
 * How a flavour world's toRun reaches the firmware for the host's two steps, when a test goes
 * through the uAPI instead of calling the PCI/TSM core and the driver directly: the TSM bind
 * (VFIO_DEVICE_TSM_BIND or the vDEVICE's op) and each private MMIO page (a KVM fault through a
 * dma-buf slot). Each must leave the same records the direct call leaves.
 */
export interface RunHooks {
  bind?: () => Promise<void>;
  mapMmio?: (a: { gfn: bigint; pfn: bigint }) => Promise<void>;
}

/** Asserts success and returns the value. */
export function ok<T>(o: HostOutcome<T>): T {
  if (!o.ok) {
    const last = o.events.at(-1);
    assert.fail(`${last && 'op' in last ? last.op : '?'}: ${o.errno} ${o.detail}`);
  }
  return o.value;
}

/** Asserts a refusal with `errno` that left the host's records and the platform's as they were. */
export async function refused<T>(
  world: HostWorld,
  errno: Errno,
  call: () => HostOutcome<T> | Promise<HostOutcome<T>>,
): Promise<HostOutcome<T>> {
  const before = canonicalHash({ h: world.h, tsm: world.p.tsm, vendor: world.p.vendor });
  const o = await call();
  assert.equal(o.ok, false, `expected ${errno}, got success`);
  if (!o.ok) assert.equal(o.errno, errno, o.detail);
  const after = canonicalHash({ h: world.h, tsm: world.p.tsm, vendor: world.p.vendor });
  assert.equal(after, before, `${errno}: records changed`);
  return o;
}
