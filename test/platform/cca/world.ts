/**
 * The world the CCA-like flavour's tests run in: teeio's NIC (function 0's DSM and its TDIs)
 * enumerated, a TSM environment trusting the device's root, the core's and the RMM's
 * records, and the Host's DOE mailbox as carrier; plus the steps every test repeats, made
 * only of RMI and RSI calls.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { seededRandom } from '../../../src/crypto/random.ts';
import { nic } from '../../../src/device/profiles/index.ts';
import type { AbiOutcome } from '../../../src/platform/abi.ts';
import { CCA_GUEST_ABI } from '../../../src/platform/cca/guest-abi.ts';
import { CCA_HOST_ABI, type CcaPlatform } from '../../../src/platform/cca/host-abi.ts';
import { createCcaState } from '../../../src/platform/cca/state.ts';
import type { PlatformEvent } from '../../../src/platform/events.ts';
import { type Bus, fabricAddBar, fabricUpstream } from '../../../src/platform/fabric.ts';
import { createPlatform, fabricViews } from '../../../src/platform/platform.ts';
import { createTsmEnv } from '../../../src/platform/tsm/link.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import { decodeCertChain } from '../../../src/wire/spdm/cert-chain.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { assignedBars } from '../../../src/world/host-view.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';

export const H = CCA_HOST_ABI;
export const G = CCA_GUEST_ABI;

export async function world(seed = 'cca') {
  const random = seededRandom(seed);
  const dev = await createTdispDevice({ profile: nic, enumerate: true, random });
  const env = createTsmEnv(requesterConfig({ trustAnchors: [dev.root], random }), random);
  // A small memory: the tests hash the whole platform after each refusal.
  const p: CcaPlatform = createPlatform(createCcaState(), {
    memory: [{ base: 0x1_0000_0000n, size: 1n << 20n }],
  });
  const events: PlatformEvent[] = [];
  const views = fabricViews(
    p,
    (rid, streamId) =>
      rid >>> 8 === dev.host.busNumber() && dev.device.streamState(streamId) === 'Secure',
  );
  dev.device.attachUpstream(fabricUpstream(p.hw, views, (e) => events.push(e)));
  const carrier = dev.doeTransport();
  const pdev = dev.device.requesterId(0);
  const tdi = dev.tdis()[0];
  return { dev, env, p, carrier, pdev, tdi, views, events, rd: 'realm1', vdevId: 0x10n };
}

export type World = Awaited<ReturnType<typeof world>>;

/** Asserts the call succeeded and returns its value. */
export async function ok<T>(o: AbiOutcome<T> | Promise<AbiOutcome<T>>): Promise<T> {
  const r = await o;
  assert.equal(r.status, r.events.at(-1)?.status);
  assert.ok(r.ok, `${r.events.at(-1)?.call}: ${r.status} ${r.detail ?? ''}`);
  return r.value as T;
}

/** Asserts a refusal with `status` that left every record (core and RMM) as it was. */
export async function refused(
  p: CcaPlatform,
  status: string,
  call: () => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>,
): Promise<AbiOutcome<unknown>> {
  const before = canonicalHash(p);
  const r = await call();
  assert.equal(r.ok, false, `expected ${status}, got ${r.status}`);
  assert.equal(r.status, status, r.detail);
  assert.equal(r.events.at(-1)?.ok, false);
  assert.equal(canonicalHash(p), before, `${status}: records changed`);
  return r;
}

/** RMI_PDEV_CREATE through PDEV_READY: chain, key from the Host's cached chain, session. */
export async function pdevReady(w: World): Promise<void> {
  const { p, env, carrier, pdev } = w;
  await ok(H.RMI_PDEV_CREATE(p, env, { pdev }));
  const c = await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier));
  assert.equal(c.state, 'PDEV_NEEDS_KEY');
  await ok(H.RMI_PDEV_SET_PUBKEY(p, env, { pdev, key: leafKeyOf(c.cache) }));
  assert.equal((await ok(H.RMI_PDEV_COMMUNICATE(p, env, { pdev }, carrier))).state, 'PDEV_READY');
}

/** The Host's reading of the leaf public key from the chain it cached (SHA-384 RootHash). */
export function leafKeyOf(chain: Uint8Array | undefined): Uint8Array {
  assert.ok(chain);
  const certs = decodeCertChain(chain, 48).certificates;
  const leaf = new X509Certificate(Buffer.from(certs[certs.length - 1]));
  return new Uint8Array(leaf.publicKey.export({ type: 'spki', format: 'der' }));
}

/** A Realm, a VDEV of the NIC's first TDI in VDEV_UNLOCKED. */
export async function vdevUnlocked(w: World): Promise<void> {
  const { p, env, carrier, pdev, tdi, rd, vdevId } = w;
  await ok(H.RMI_REALM_CREATE(p, env, { rd }));
  await ok(H.RMI_VDEV_CREATE(p, env, { rd, pdev, tdi: tdi.requesterId, vdevId }));
  const ref = { rd, pdev, vdev: tdi.requesterId };
  assert.equal((await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier))).state, 'VDEV_UNLOCKED');
}

/** The VDEV locked and its report fetched; returns the report bytes the Host cached. */
export async function vdevLockedReported(w: World): Promise<Uint8Array> {
  const { p, env, carrier, pdev, tdi, rd } = w;
  const ref = { rd, pdev, vdev: tdi.requesterId };
  await ok(H.RMI_VDEV_LOCK(p, env, ref));
  assert.equal((await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier))).state, 'VDEV_LOCKED');
  await ok(H.RMI_VDEV_GET_INTERFACE_REPORT(p, env, ref));
  const r = await ok(H.RMI_VDEV_COMMUNICATE(p, env, ref, carrier));
  assert.ok(r.cache);
  return r.cache;
}

/** Routes every memory BAR of `w`'s TDI in the fabric (what host enumeration will do). */
export function routeBars(w: World): Bus {
  for (const b of assignedBars(w.dev.profile, w.dev.enumerated ?? new Map(), w.tdi.fn)) {
    const r = fabricAddBar(w.p.hw.fabric, {
      rid: w.tdi.requesterId,
      fn: w.tdi.fn,
      bar: b.index,
      base: b.address,
      size: b.size,
    });
    assert.ok(r.result.ok);
  }
  return new Map([[w.dev.host.busNumber(), w.dev.host]]);
}

/** The first page of a TEE range (not MSI-X) of the report the core fetched. */
export function teePage(w: World): bigint {
  const ranges = w.p.tsm.tdis.get(w.tdi.requesterId)?.report?.ranges ?? [];
  const r = ranges.find((x) => !x.nonTee && !x.msixTable && !x.msixPba);
  assert.ok(r, 'the report has a TEE range');
  return r.base;
}
