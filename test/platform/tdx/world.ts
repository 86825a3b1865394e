/**
 * A TDX flavour world for the tests: teeio's NIC (enumerated, seeded) attached to the
 * platform's fabric, the TSM's env, the platform (hardware, core records, the flavour's), the host lending function 0's DOE mailbox as carrier,
 * and helpers that drive the flavour's ABI only (no core call): connect, a DEVIF, the host's
 * TDISP requests and the TD's.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { seededRandom } from '../../../src/crypto/random.ts';
import { nic } from '../../../src/device/profiles/index.ts';
import type { AbiOutcome } from '../../../src/platform/abi.ts';
import type { PlatformEvent } from '../../../src/platform/events.ts';
import { fabricUpstream } from '../../../src/platform/fabric.ts';
import { pfnEntries } from '../../../src/platform/pfn-table.ts';
import { createPlatform, fabricViews } from '../../../src/platform/platform.ts';
import {
  type TdResponse,
  tdgDevifRequest,
  tdgDevifResponse,
  tdgDevifValidate,
} from '../../../src/platform/tdx/guest-abi.ts';
import {
  tdhDevifCreate,
  tdhDevifRequest,
  tdhDevifResponse,
  tdhIdeStreamCreate,
  tdhMngCreate,
  tdhSpdmConnect,
  tdhSpdmCreate,
} from '../../../src/platform/tdx/host-abi.ts';
import {
  createTdxState,
  type TdispRequestName,
  type TdxPlatform,
} from '../../../src/platform/tdx/state.ts';
import { createTsmEnv } from '../../../src/platform/tsm/link.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import { encodeFunctionId } from '../../../src/wire/tdisp/header.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { createTdispDevice } from '../../../src/world/tdisp-device.ts';

export const TD = 'td1';
export const STREAM = 0;

export async function tdxWorld(seed: string) {
  const random = seededRandom(seed);
  const dev = await createTdispDevice({ profile: nic, enumerate: true, random });
  const env = createTsmEnv(requesterConfig({ trustAnchors: [dev.root], random }), random);
  const p = createPlatform(createTdxState());
  const events: PlatformEvent[] = [];
  const views = fabricViews(
    p,
    (rid, streamId) =>
      rid >>> 8 === dev.host.busNumber() && dev.device.streamState(streamId) === 'Secure',
  );
  dev.device.attachUpstream(fabricUpstream(p.hw, views, (e) => events.push(e)));
  const carrier = dev.doeTransport();
  const device = dev.device.requesterId(0);
  const tdi = dev.tdis()[0];
  const functionId = encodeFunctionId(tdi.interfaceId);
  return { dev, env, p, carrier, device, tdi, functionId, events };
}

export type TdxWorld = Awaited<ReturnType<typeof tdxWorld>>;

/** Asserts `o` succeeded, showing its status and detail otherwise. */
export function ok<T>(o: AbiOutcome<T>): T {
  assert.equal(o.status, 'TDX_SUCCESS', `${o.events.at(-1)?.call}: ${o.status} ${o.detail ?? ''}`);
  return o.value as T;
}

/**
 * The platform's records for before/after comparisons: everything, with host memory's
 * 16,384 page owners reduced to the pages that are not shared (hashing every owner costs
 * more than the calls under test).
 */
export function recordsHash(p: TdxPlatform): string {
  const { memory, ...hw } = p.hw;
  const owned = pfnEntries(memory.owners);
  return canonicalHash({ tsm: p.tsm, vendor: p.vendor, hw, owned, data: memory.data });
}

/** Asserts a refusal with `status` that left every record as it was. */
export async function refused(
  p: TdxPlatform,
  status: string,
  call: () => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>,
): Promise<AbiOutcome<unknown>> {
  const before = recordsHash(p);
  const o = await call();
  assert.equal(o.status, status, `${o.events.at(-1)?.call}: ${o.status} ${o.detail ?? ''}`);
  assert.equal(o.ok, false);
  assert.equal(recordsHash(p), before, `${status}: records changed`);
  return o;
}

/**
 * The device identity a TD expects, built from the spec rather than from the requester:
 * SHA-384 of the SPDM certificate chain (DSP0274 "Certificate chain format": Length u16,
 * reserved u16, RootHash = SHA-384 of the root certificate, then the DER certificates).
 */
export function devInfoHash(dev: TdxWorld['dev']): string {
  const certs = Buffer.concat(dev.identity.certChain);
  const rootHash = createHash('sha384').update(dev.identity.certChain[0]).digest();
  const header = Buffer.alloc(4);
  header.writeUInt16LE(4 + rootHash.length + certs.length, 0);
  return createHash('sha384')
    .update(Buffer.concat([header, rootHash, certs]))
    .digest('hex');
}

/** SPDM object, stream, connect, the TD, a DEVIF for the first TDI, the TD's validation. */
export async function withDevif(w: TdxWorld): Promise<void> {
  const { p, env, carrier, device, functionId } = w;
  ok(tdhSpdmCreate(p, env, { device, iommuId: 0, spdmIdx: 0 }));
  ok(tdhIdeStreamCreate(p, env, { device, streamId: STREAM }));
  ok(await tdhSpdmConnect(p, env, { device }, carrier));
  ok(tdhMngCreate(p, env, { td: TD }));
  ok(tdhDevifCreate(p, env, { functionId, device, td: TD }));
  ok(tdgDevifValidate(p, env, { td: TD, functionId, devInfoHash: devInfoHash(w.dev) }));
}

/** The host's own request: TDH.DEVIF.REQUEST then TDH.DEVIF.RESPONSE. */
export async function hostRequest(w: TdxWorld, request: TdispRequestName) {
  const { p, env, carrier, functionId } = w;
  const g = tdhDevifRequest(p, env, { functionId, request });
  if (!g.ok) return g;
  return tdhDevifResponse(p, env, { functionId }, carrier);
}

/** The TD's request, carried by the host, and the TD reading the answer. */
export async function tdRequest(
  w: TdxWorld,
  request: TdispRequestName,
  td = TD,
): Promise<AbiOutcome<TdResponse | undefined>> {
  const { p, env, carrier, functionId } = w;
  const r = tdgDevifRequest(p, env, { td, functionId, request });
  if (!r.ok) return r;
  ok(tdhDevifRequest(p, env, { functionId, td: true }));
  await tdhDevifResponse(p, env, { functionId }, carrier);
  return tdgDevifResponse(p, env, { td, functionId });
}
