/**
 * The CCA host driver's test world: a host world of the cca flavour, the driver, the
 * Realm's side (its RSI calls and its own accesses, called directly as the guest would),
 * and the steps the tests share: a connected device, a Realm with its image, a bound TDI
 * taken to RUN through the host's relay of the Realm's requests.
 */
import assert from 'node:assert/strict';
import { digest } from '../../../src/crypto/hash.ts';
import {
  LINK_TSM,
  pciTsmBind,
  pciTsmConnect,
  pciTsmGuestReq,
} from '../../../src/host/pci-tsm/core.ts';
import type { HostSwitches } from '../../../src/host/switches.ts';
import { ccaTsmDriver } from '../../../src/host/tsm/cca/index.ts';
import type { GuestRequest } from '../../../src/host/tsm/driver.ts';
import { CCA_GUEST_ABI, realmMmioAccess } from '../../../src/platform/cca/guest-abi.ts';
import type { CcaPlatform } from '../../../src/platform/cca/host-abi.ts';
import type { CcaState } from '../../../src/platform/cca/state.ts';
import { hostWorld, ok, type RunHooks } from '../world.ts';

export const D = ccaTsmDriver;
export const G = CCA_GUEST_ABI;
export const VM = 'realm1';
export const VDEV_ID = 0x10;
/** Where the VMM puts the TDI's BAR pages in the Realm's IPA space. */
export const MMIO_IPA = 0x4000_0000n;
/** The Realm's image: two pages at this guest frame. */
export const IMAGE_GFN = 0x100n;

export async function ccaWorld(seed: string, switches: Partial<HostSwitches> = {}) {
  const w = await hostWorld('cca', { seed, switches });
  const p = w.p as CcaPlatform;
  return { ...w, p, vendor: w.p.vendor as CcaState };
}

export type CcaWorld = Awaited<ReturnType<typeof ccaWorld>>;

/** An RSI call's value, asserting success. */
export async function rsiOk<T>(o: { ok: boolean; status: string; detail?: string; value?: T }) {
  assert.ok(o.ok, `${o.status} ${o.detail ?? ''}`);
  return o.value as T;
}

export function guestReq(w: CcaWorld, request: GuestRequest, vm = VM) {
  return pciTsmGuestReq(w.m, w.h, { rid: w.rid, vm, request });
}

/** tsm/connect, the Realm created with its two-page image and activated. */
export async function connectedRealm(w: CcaWorld): Promise<bigint[]> {
  const { m, h, dsm } = w;
  ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
  ok(await D.vmCreate(m, h, VM));
  const hpfn = m.memoryMap[0].base >> 12n;
  const image = [hpfn, hpfn + 1n];
  for (const [i, f] of image.entries()) {
    ok(await D.mapPrivatePage(m, h, { vm: VM, gfn: IMAGE_GFN + BigInt(i), hpfn: f }));
  }
  ok(await D.vmFinalize(m, h, VM));
  return image;
}

/** The report's TEE pages (bus addresses): what the VMM maps for the Realm. */
export function teePages(w: CcaWorld): bigint[] {
  const ranges = w.p.tsm.tdis.get(w.rid)?.report?.ranges ?? [];
  const out: bigint[] = [];
  for (const r of ranges.filter((x) => !x.nonTee)) {
    for (let i = 0n; i < BigInt(r.pages); i++) out.push(r.base + (i << 12n));
  }
  return out;
}

/**
 * Bound, reported (the Realm's request relayed), private MMIO mapped for the report's TEE
 * pages, trusted DMA enabled, the Realm's checks and validation, its request to start
 * relayed, its DMA consent: the TDI in RUN. Returns the guest frames mapped.
 */
export async function toRun(
  w: CcaWorld,
  hooks: RunHooks = {},
): Promise<{ gfns: bigint[]; pages: bigint[] }> {
  const { m, h, rid, p, env } = w;
  if (hooks.bind) await hooks.bind();
  else ok(await pciTsmBind(m, h, { rid, vm: VM, vdevId: VDEV_ID }));
  assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
  ok(await guestReq(w, { scope: 'info', message: { name: 'RHI_DA_VDEV_GET_INTERFACE_REPORT' } }));
  const read = ok(
    await guestReq(w, {
      scope: 'info',
      message: { name: 'RHI_DA_OBJECT_READ', objectType: 'RHI_DA_OBJECT_INTERFACE_REPORT' },
    }),
  ) as { data: Uint8Array };
  // The Realm trusts the report the host hands it only if the RMM's digest agrees.
  const vdevId = BigInt(VDEV_ID);
  const info = await rsiOk(G.RSI_VDEV_GET_INFO(p, env, { realm: VM, vdevId }));
  assert.deepEqual(info.reportDigest, digest('sha256', read.data));

  const pages = teePages(w);
  assert.ok(pages.length > 0, 'the report has TEE ranges');
  const gfns = pages.map((_, i) => (MMIO_IPA >> 12n) + BigInt(i));
  for (const [i, pa] of pages.entries()) {
    if (hooks.mapMmio) await hooks.mapMmio({ gfn: gfns[i], pfn: pa >> 12n });
    else ok(await D.mapPrivateMmio(m, h, { vm: VM, gfn: gfns[i], pfn: pa >> 12n, rid }));
  }
  ok(await D.enableTrustedDma(m, h, { rid }));

  const attest = {
    lockNonce: info.lockNonce,
    measNonce: info.measNonce,
    reportNonce: info.reportNonce,
  };
  for (const [i, pa] of pages.entries()) {
    const ipa = gfns[i] << 12n;
    const v = { realm: VM, vdevId, ipaBase: ipa, ipaTop: ipa + 0x1000n, paBase: pa, ...attest };
    assert.equal((await rsiOk(G.RSI_VDEV_VALIDATE_MAPPING(p, env, v))).response, 'RSI_ACCEPT');
  }
  ok(
    await guestReq(w, {
      scope: 'state-change',
      message: { name: 'RHI_DA_VDEV_SET_TDI_STATE', tdiState: 'RHI_DA_TDI_CONFIG_RUN' },
    }),
  );
  await rsiOk(G.RSI_VDEV_DMA_ENABLE(p, env, { realm: VM, vdevId, ...attest }));
  assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
  return { gfns, pages };
}

/** The Realm's own access to a Protected IPA. */
export function realmAccess(w: CcaWorld, ipa: bigint, data?: Uint8Array) {
  return realmMmioAccess(
    w.p,
    w.bus,
    w.views,
    data ? { realm: VM, ipa, data } : { realm: VM, ipa, size: 4 },
  );
}
