/**
 * The SEV-TIO flavour's test world: teeio's NIC with enumerated BARs, a TSM with the SEV
 * flavour's records, function 0's DOE mailbox as the host's carrier, and helpers that run
 * the flavour's ABI calls and check a refusal left every record as it was.
 */
import assert from 'node:assert/strict';
import { seededRandom } from '../../../src/crypto/random.ts';
import { nic } from '../../../src/device/profiles/index.ts';
import type { AbiOutcome } from '../../../src/platform/abi.ts';
import type { PlatformEvent } from '../../../src/platform/events.ts';
import { fabricAddBar, fabricUpstream } from '../../../src/platform/fabric.ts';
import { createPlatform } from '../../../src/platform/platform.ts';
import { sevFabricViews } from '../../../src/platform/sev/fence.ts';
import { createSevState, type SevPlatform } from '../../../src/platform/sev/state.ts';
import type { PlatformHwConfig } from '../../../src/platform/state.ts';
import { createTsmEnv } from '../../../src/platform/tsm/link.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import type { RequesterTransport } from '../../../src/wire/transport.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';
import { recordsHash } from '../records-hash.ts';

export const GCTX = 0x10_0000;
export const GCTX2 = 0x20_0000;
export const ASID = 5;
export const ASID2 = 6;
/** The guest's BDF for the TDI (00:03.0). */
export const GUEST_BDF = 0x18;

/** `hw`: the platform's hardware configuration (a small memory keeps hashing cheap). */
export async function sevWorld(seed = 'sev flavour', hw: PlatformHwConfig = {}) {
  const random = seededRandom(seed);
  const dev = await createTdispDevice({ profile: nic, enumerate: true, random });
  const env = createTsmEnv(requesterConfig({ trustAnchors: [dev.root], random }), random);
  const p: SevPlatform = createPlatform(createSevState(), hw);
  // The device's DMA goes through the platform's fabric; its events are kept.
  const events: PlatformEvent[] = [];
  const views = sevFabricViews(
    p,
    (rid, streamId) =>
      rid >>> 8 === dev.host.busNumber() && dev.device.streamState(streamId) === 'Secure',
  );
  dev.device.attachUpstream(fabricUpstream(p.hw, views, (e) => events.push(e)));
  const bus = new Map([[dev.host.busNumber(), dev.host]]);
  // The host's enumeration routes every memory BAR of the assignable functions.
  for (const t of dev.tdis()) {
    for (const b of t.bars) {
      const route = { rid: t.requesterId, fn: t.fn, bar: b.index, base: b.address, size: b.size };
      assert.ok(fabricAddBar(p.hw.fabric, route).result.ok);
    }
  }
  const carrier = dev.doeTransport();
  const fn0 = dev.device.requesterId(0);
  const tdi = dev.tdis()[0];
  return { dev, env, p, carrier, fn0, tdi, rid: tdi.requesterId, events, views, bus };
}

export type SevWorld = Awaited<ReturnType<typeof sevWorld>>;

/** Asserts the call succeeded, with its message on failure. */
export function ok<T>(o: AbiOutcome<T>, what = ''): T {
  assert.equal(o.ok, true, `${what} ${o.events.at(-1)?.call}: ${o.status} ${o.detail ?? ''}`);
  assert.equal(o.events.at(-1)?.ok, true);
  return o.value as T;
}

/** Asserts a refusal with `status` that left every record exactly as it was. */
export async function refused(
  p: SevPlatform,
  status: string,
  call: () => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>,
): Promise<AbiOutcome<unknown>> {
  const before = canonicalHash(p);
  const records = recordsHash(p);
  const o = await call();
  assert.equal(o.ok, false, `expected ${status}, got success`);
  assert.equal(o.status, status, o.detail);
  const last = o.events.at(-1);
  assert.equal(last?.status, status);
  assert.equal(last?.ok, false);
  // A failed device exchange may end the SPDM session; nothing else changes, ever.
  if (status === 'SEV_RET_SPDM_ERROR')
    assert.equal(recordsHash(p), records, `${status}: records changed`);
  else assert.equal(canonicalHash(p), before, `${status}: records changed`);
  return o;
}

/** A host that drops every message it is asked to carry. */
export function droppingCarrier(binding: RequesterTransport['binding']): RequesterTransport {
  return {
    binding,
    exchange: () => Promise.reject(Object.assign(new Error('dropped'), { name: 'TransportError' })),
    close: async () => undefined,
  };
}
