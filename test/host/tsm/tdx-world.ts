/**
 * The TDX host driver's test world: a host world of the tdx flavour, the driver, the TD's
 * side (its TDCALLs from the flavour's guest ABI table and its own MMIO accesses, made
 * directly as the TD would), and the steps the tests share: a connected device, a TD with
 * private memory, a bound TDI taken to RUN through the host's relay of the TD's requests.
 */
import assert from 'node:assert/strict';
import {
  LINK_TSM,
  pciTsmBind,
  pciTsmConnect,
  pciTsmGuestReq,
} from '../../../src/host/pci-tsm/core.ts';
import type { HostSwitches } from '../../../src/host/switches.ts';
import type { GuestRequest } from '../../../src/host/tsm/driver.ts';
import { type TdxDriverRecords, tdxTsmDriver } from '../../../src/host/tsm/tdx/index.ts';
import type { AbiArg, AbiOutcome } from '../../../src/platform/abi.ts';
import { guestMmioRead, guestMmioWrite } from '../../../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { TDX_GUEST_ABI } from '../../../src/platform/tdx/index.ts';
import type { TdxPlatform } from '../../../src/platform/tdx/state.ts';
import { encodeFunctionId } from '../../../src/wire/tdisp/header.ts';
import { canonicalHash } from '../../../src/world/hash.ts';
import { devInfoHash } from '../../platform/tdx/world.ts';
import { hostWorld, ok, type RunHooks } from '../world.ts';

export const D = tdxTsmDriver;
export const TD = 'td1';
export const VDEV_ID = 0x10;
/** Where the VMM puts the TDI's BAR pages in the TD's private GPA space. */
export const MMIO_GFN = 0x4_0000n;
/** The TD's image: two pages here, added before TDH.MR.FINALIZE; one more after. */
export const IMAGE_GFN = 0x100n;

export async function tdxWorld(seed: string, switches: Partial<HostSwitches> = {}) {
  const w = await hostWorld('tdx', { seed, switches });
  const p = w.p as TdxPlatform;
  const functionId = encodeFunctionId(w.tdi.interfaceId);
  return { ...w, p, functionId };
}

export type TdxWorld = Awaited<ReturnType<typeof tdxWorld>>;

export const records = (w: TdxWorld) => w.h.tsmDriver.tdx as TdxDriverRecords;

/** The SEAMCALLs and TDCALLs in a trace, by leaf name, in order. */
export const calls = (events: { kind: string }[]) =>
  events.flatMap((e) => (e.kind === 'abi' && 'call' in e ? [e.call as string] : []));

/** A TDCALL of the TD, by leaf name, through the flavour's guest ABI table. */
export async function tdcall<T = unknown>(
  w: TdxWorld,
  call: string,
  args: Record<string, AbiArg> = {},
  td = TD,
): Promise<AbiOutcome<T>> {
  const f = TDX_GUEST_ABI[call];
  assert.ok(f, `${call} is a guest call`);
  return (await f(w.p, w.env, { td, functionId: w.functionId, ...args })) as AbiOutcome<T>;
}

/** A TDCALL that must succeed; its value. */
export async function tdOk<T = unknown>(
  w: TdxWorld,
  call: string,
  args: Record<string, AbiArg> = {},
): Promise<T> {
  const o = await tdcall<T>(w, call, args);
  assert.equal(o.status, 'TDX_SUCCESS', `${call}: ${o.status} ${o.detail ?? ''}`);
  return o.value as T;
}

export function guestReq(w: TdxWorld, request: GuestRequest, vm = TD) {
  return pciTsmGuestReq(w.m, w.h, { rid: w.rid, vm, request });
}

/** The TD asks (TDG.DEVIF.REQUEST), the host relays, the TD reads the answer. */
export async function tdRequest(
  w: TdxWorld,
  name: string,
  scope: GuestRequest['scope'],
): Promise<{ request: string; value?: Uint8Array | string }> {
  await tdOk(w, 'TDG.DEVIF.REQUEST', { request: name });
  const carried = ok(await guestReq(w, { scope, message: { name } }));
  assert.deepEqual(carried, { request: name });
  return tdOk(w, 'TDG.DEVIF.RESPONSE');
}

/**
 * Everything the host and the module hold, with the TD's secure EPT and the trusted IOMMU
 * (host memory's page owners left out: the tests that move pages look at them directly).
 */
export const everything = (w: TdxWorld) =>
  canonicalHash({
    h: w.h,
    tsm: w.p.tsm,
    vendor: w.p.vendor,
    septs: w.p.hw.septs,
    secure: w.p.hw.iommu.secure,
  });

/** tsm/connect, the TD with its two-page image, finalized, and one page added after. */
export async function connectedTd(w: TdxWorld): Promise<bigint[]> {
  const { m, h, dsm } = w;
  ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
  ok(await D.vmCreate(m, h, TD));
  const hpfn = m.memoryMap[0].base >> PAGE_SHIFT;
  const pages = [hpfn, hpfn + 1n, hpfn + 2n];
  for (const [i, f] of pages.slice(0, 2).entries()) {
    ok(await D.mapPrivatePage(m, h, { vm: TD, gfn: IMAGE_GFN + BigInt(i), hpfn: f }));
  }
  ok(await D.vmFinalize(m, h, TD));
  ok(await D.mapPrivatePage(m, h, { vm: TD, gfn: IMAGE_GFN + 2n, hpfn: pages[2] }));
  await tdOk(w, 'TDG.MEM.PAGE.ACCEPT', { gfn: IMAGE_GFN + 2n });
  return pages;
}

/** The report's TEE pages as host frames, with their range and offset for TDG.MMIO.ACCEPT. */
export function teePages(w: TdxWorld): { pfn: bigint; rangeId: number; pageOffset: number }[] {
  const ranges = w.p.tsm.tdis.get(w.rid)?.report?.ranges ?? [];
  return ranges
    .filter((r) => !r.nonTee)
    .flatMap((r) =>
      Array.from({ length: r.pages }, (_, i) => ({
        pfn: (r.base >> PAGE_SHIFT) + BigInt(i),
        rangeId: r.rangeId,
        pageOffset: i,
      })),
    );
}

/**
 * Bound (CONFIG_LOCKED), validated by the TD, the report relayed to it, private MMIO mapped
 * for the report's TEE pages and accepted, trusted DMA enabled and accepted, START relayed:
 * the TDI in RUN. Returns the guest frames mapped and their host frames.
 */
export async function toRun(
  w: TdxWorld,
  hooks: RunHooks = {},
): Promise<{ gfns: bigint[]; pfns: bigint[] }> {
  const { m, h, rid } = w;
  if (hooks.bind) await hooks.bind();
  else ok(await pciTsmBind(m, h, { rid, vm: TD, vdevId: VDEV_ID }));
  assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
  await tdOk(w, 'TDG.DEVIF.VALIDATE', { devInfoHash: devInfoHash(w.dev) });
  const report = await tdRequest(w, 'GET_DEVICE_INTERFACE_REPORT', 'info');
  assert.ok(report.value instanceof Uint8Array && report.value.length > 0);

  const pages = teePages(w);
  assert.ok(pages.length > 0, 'the report has TEE ranges');
  const gfns = pages.map((_, i) => MMIO_GFN + BigInt(i));
  for (const [i, pg] of pages.entries()) {
    if (hooks.mapMmio) await hooks.mapMmio({ gfn: gfns[i], pfn: pg.pfn });
    else ok(await D.mapPrivateMmio(m, h, { vm: TD, gfn: gfns[i], pfn: pg.pfn, rid }));
    await tdOk(w, 'TDG.MMIO.ACCEPT', {
      gfn: gfns[i],
      rangeId: pg.rangeId,
      pageOffset: pg.pageOffset,
    });
  }
  // A bind through VFIO or the vDEVICE sets the trusted DMA context up itself.
  if (!w.p.hw.iommu.secure.has(rid)) ok(await D.enableTrustedDma(m, h, { rid }));
  await tdOk(w, 'TDG.DMAR.ACCEPT');
  await tdRequest(w, 'START_INTERFACE_REQUEST', 'state-change');
  assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
  return { gfns, pfns: pages.map((pg) => pg.pfn) };
}

/** The TD's own T=1 access to a private GPA: a write of `data`, or a 4-byte read. */
export function tdAccess(w: TdxWorld, gfn: bigint, data?: Uint8Array) {
  const gpa = gfn << PAGE_SHIFT;
  return data
    ? guestMmioWrite(w.p.hw, w.bus, w.views, TD, gpa, data)
    : guestMmioRead(w.p.hw, w.bus, w.views, TD, gpa, 4);
}

/** BAR and offset of host frame `pfn` of the TDI. */
export function barOffset(w: TdxWorld, pfn: bigint): { bar: number; offset: number } {
  const pa = pfn << PAGE_SHIFT;
  for (let bar = 0; bar < 6; bar++) {
    const b = w.m.barAddress(w.rid, bar);
    if (b && pa >= b.base && pa < b.base + b.size) return { bar, offset: Number(pa - b.base) };
  }
  assert.fail(`0x${pa.toString(16)} is in no BAR`);
}
