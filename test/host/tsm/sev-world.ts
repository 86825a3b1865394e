/**
 * The SEV host driver's test world: a host world of the sev flavour, the driver, the
 * guest's side (its SEV guest ABI calls and its own accesses, made directly as the guest
 * would), and the steps the tests share: a connected device, an SNP guest with RAM, a bound
 * TDI taken to RUN through the host's relay of the guest's messages.
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
import type { GuestRequest } from '../../../src/host/tsm/driver.ts';
import { type SevGuestReply, sevGuestOf, sevTsmDriver } from '../../../src/host/tsm/sev/index.ts';
import type { AbiArg } from '../../../src/platform/abi.ts';
import { guestMmioRead, guestMmioWrite } from '../../../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../../../src/platform/ids.ts';
import { sealTag } from '../../../src/platform/sev/guest-abi.ts';
import { SEV_GUEST_ABI } from '../../../src/platform/sev/index.ts';
import type { SevPlatform } from '../../../src/platform/sev/state.ts';
import { hostWorld, ok, type RunHooks } from '../world.ts';

export const D = sevTsmDriver;
export const G = SEV_GUEST_ABI;
/** KVM's names of two VMs. */
export const VM = 'kvm-vm-3';
export const VM2 = 'kvm-vm-4';
/** The guest's BDF of the TDI (00:03.0). */
export const GUEST_BDF = 0x18;
/** Where the VMM puts the TDI's BAR pages and the guest's RAM in guest physical space. */
export const GPA_MMIO = 0x8000_0000n;
export const RAM_GFN = 0x100n;
/** A RAM page the guest gets after its launch (toRun). */
export const LATE_GFN = 0x200n;
export const SDTE = { v: true, ir: true, iw: true, vmpl: 0, vtomEn: true, vtom: 0x1000 };

export async function sevHostWorld(seed: string, switches: Partial<HostSwitches> = {}) {
  const w = await hostWorld('sev', { seed, switches });
  return { ...w, p: w.p as SevPlatform };
}

export type SevHostWorld = Awaited<ReturnType<typeof sevHostWorld>>;

/** The PSP's name of KVM's VM, its guest context and ASID (what the guest knows of itself). */
export function guestOf(w: SevHostWorld, vm = VM) {
  const g = sevGuestOf(w.h, vm);
  assert.ok(g, `${vm} is an SNP guest`);
  return g;
}

/** A guest ABI call made by the guest itself (no host in between). */
export async function guestCall<T>(name: string, args: Record<string, unknown>, w: SevHostWorld) {
  const f = G[name] as unknown as (p: SevPlatform, env: unknown, a: unknown) => unknown;
  const o = (await f(w.p, w.env, args)) as { ok: boolean; status: string; value?: T };
  return o;
}

/**
 * `message` of VM `vm`'s guest as the honest guest seals it (platform/sev/guest-seal.ts):
 * its VMPCK (read here from the firmware's record, as the guest reads its secrets page) and
 * the sequence number after the firmware's last.
 */
export function sealed(
  w: SevHostWorld,
  message: Record<string, AbiArg>,
  vm: VmName = VM,
): Record<string, AbiArg> {
  const gctx = sevGuestOf(w.h, vm)?.gctx ?? 0;
  const body = { gctx, guestDeviceId: GUEST_BDF, ...message };
  const g = w.p.vendor.guests.get(body.gctx as number);
  const seq = (g?.msgSeq ?? 0) + 1;
  return { ...body, seq, tag: sealTag(g?.vmpck ?? '', seq, body) };
}

/** The guest's TIO_MSG_* (sealed as the honest guest does) relayed through pci_tsm_guest_req. */
export async function relay(
  w: SevHostWorld,
  scope: GuestRequest['scope'],
  message: Record<string, AbiArg>,
  o: { vm?: VmName; rid?: number } = {},
) {
  const vm = o.vm ?? VM;
  const request = { scope, message: sealed(w, message, vm) };
  return pciTsmGuestReq(w.m, w.h, { rid: o.rid ?? w.rid, vm, request });
}

type VmName = string;

/** A relayed message's reply, asserting the command and the message both succeeded. */
export function replyOk(o: Awaited<ReturnType<typeof relay>>, status: string): unknown {
  const r = ok(o) as SevGuestReply;
  assert.equal(r.status, status, r.detail);
  return r.value;
}

/** tsm/connect, the SNP guest created with two RAM pages, launched. Returns the RAM frames. */
export async function connectedGuest(w: SevHostWorld, vm = VM): Promise<bigint[]> {
  const { m, h, dsm } = w;
  if (!h.pciTsm.devices.get(dsm)?.connectedTo) {
    ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
  }
  ok(await D.vmCreate(m, h, vm));
  const base = m.memoryMap[0].base >> PAGE_SHIFT;
  const off = vm === VM ? 0n : 16n;
  const ram = [base + off, base + off + 1n];
  for (const [i, hpfn] of ram.entries()) {
    ok(await D.mapPrivatePage(m, h, { vm, gfn: RAM_GFN + BigInt(i), hpfn }));
  }
  ok(await D.vmFinalize(m, h, vm));
  return ram;
}

/**
 * The TEE ranges of the TDI's report (bus addresses) the VMM maps for the guest. The MSI-X
 * table and PBA are left shared: whether they are private is open (SYSTEM.md section 6
 * item 11), and the device reports them under the same range id as the registers.
 */
export function teeRanges(w: SevHostWorld, rid = w.rid) {
  const ranges = w.p.tsm.tdis.get(rid)?.report?.ranges ?? [];
  return ranges.filter((r) => !r.nonTee && !r.msixTable && !r.msixPba);
}

/**
 * Bound, the report checked by the guest, private MMIO mapped for every TEE range, trusted
 * DMA enabled, the guest's RAM validated, each range validated and the sDTE written through
 * the relay: the TDI in RUN. Returns the guest frames mapped.
 */
export async function toRun(w: SevHostWorld, hooks: RunHooks = {}): Promise<bigint[]> {
  const { m, h, rid } = w;
  const g = guestOf(w);
  if (hooks.bind) await hooks.bind();
  else ok(await pciTsmBind(m, h, { rid, vm: VM, vdevId: GUEST_BDF }));
  assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');

  // The guest attests: the PSP's TDI_INFO gives state and report digest.
  const info = replyOk(
    await relay(w, 'info', { type: 'TIO_MSG_TDI_INFO_REQ' }),
    'TDI_INFO_SUCCESS',
  );
  const i = info as { state: string; report: Uint8Array; interfaceReportDigest: Uint8Array };
  assert.equal(i.state, 'CONFIG_LOCKED');
  assert.deepEqual(i.interfaceReportDigest, digest('sha384', i.report));

  const gfns: bigint[] = [];
  let gfn = GPA_MMIO >> PAGE_SHIFT;
  const ranges = teeRanges(w);
  assert.ok(ranges.length > 0, 'the report has TEE ranges');
  const placed: { rangeId: number; gpa: bigint; pages: number }[] = [];
  for (const r of ranges) {
    placed.push({ rangeId: r.rangeId, gpa: gfn << PAGE_SHIFT, pages: r.pages });
    for (let k = 0; k < r.pages; k++) {
      const pfn = (r.base >> PAGE_SHIFT) + BigInt(k);
      if (hooks.mapMmio) await hooks.mapMmio({ gfn, pfn });
      else ok(await D.mapPrivateMmio(m, h, { vm: VM, gfn, pfn, rid }));
      gfns.push(gfn++);
    }
  }
  ok(await D.enableTrustedDma(m, h, { rid }));

  // A RAM page given after the launch waits for the guest's PVALIDATE (the launch image
  // was measured in and is valid already).
  const late = await guestCall(
    'PVALIDATE',
    { gctx: g.gctx, gpa: RAM_GFN << PAGE_SHIFT, validate: true },
    w,
  );
  assert.equal(late.status, 'PVALIDATE_FAIL_NOUPDATE');
  const hpfn = (m.memoryMap[0].base >> PAGE_SHIFT) + 8n;
  ok(await D.mapPrivatePage(m, h, { vm: VM, gfn: LATE_GFN, hpfn }));
  const v = await guestCall(
    'PVALIDATE',
    { gctx: g.gctx, gpa: LATE_GFN << PAGE_SHIFT, validate: true },
    w,
  );
  assert.equal(v.status, 'PVALIDATE_SUCCESS');
  for (const pr of placed) {
    const r = await relay(w, 'state-change', {
      type: 'TIO_MSG_MMIO_VALIDATE_REQ',
      subrangeBase: pr.gpa,
      subrangePageCount: pr.pages,
      rangeOffset: 0,
      rangeId: pr.rangeId,
      validated: true,
    });
    replyOk(r, 'MMIO_VALIDATE_SUCCESS');
  }
  replyOk(
    await relay(w, 'state-change', { type: 'TIO_MSG_SDTE_WRITE_REQ', ...SDTE }),
    'SDTE_WRITE_SUCCESS',
  );
  assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
  return gfns;
}

/** The guest's own T=1 access to its private MMIO at `gpa`. */
export function guestRead(w: SevHostWorld, gpa: bigint, size = 4) {
  return guestMmioRead(w.p.hw, w.bus, w.views, guestOf(w).firmwareVm, gpa, size);
}

export function guestWrite(w: SevHostWorld, gpa: bigint, data: Uint8Array) {
  return guestMmioWrite(w.p.hw, w.bus, w.views, guestOf(w).firmwareVm, gpa, data);
}
