/**
 * The host half of a TDI's lifecycle driven only through the VMM and the kernel's uAPI, for
 * each flavour (SYSTEM.md section 4): tsm/connect; a confidential VM with RAM; the TDI
 * assigned (VFIO, iommufd, BAR dma-bufs in KVM_MEM_VFIO_DMABUF slots); the guest's hypercalls
 * to bind (locking the TDI), relay its requests and convert its BAR pages; its private faults
 * on those pages mapping private MMIO through KVM into the secure EPT; trusted DMA; RUN; then
 * the unbind in the flavour's order, the device released and the VM destroyed. The guest's
 * own part (accepts, validation, start) is its guest ABI, called directly as the TSM tests
 * do. Afterwards: no secure-EPT MMIO mapping, no trusted IOMMU context, the TDI
 * CONFIG_UNLOCKED and its memory scrubbed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digest } from '../../src/crypto/hash.ts';
import type { GuestHypercall, HypercallResult } from '../../src/guest/machine.ts';
import { kvmDestroyVm } from '../../src/host/kvm/vm.ts';
import type { HostEvent } from '../../src/host/outcome.ts';
import { LINK_TSM, pciTsmConnect, pciTsmDisconnect } from '../../src/host/pci-tsm/core.ts';
import type { SevGuestReply } from '../../src/host/tsm/sev/index.ts';
import type { VmmHypercall, VmmHypercallResult } from '../../src/host/vmm/index.ts';
import {
  vmmAssignDevice,
  vmmCreateVm,
  vmmDestroyVm,
  vmmFinalizeVm,
  vmmReleaseDevice,
} from '../../src/host/vmm/index.ts';
import type { AbiArg } from '../../src/platform/abi.ts';
import { realmMmioAccess } from '../../src/platform/cca/guest-abi.ts';
import { guestMmioRead, guestMmioWrite } from '../../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../../src/platform/ids.ts';
import { asidFenced } from '../../src/platform/sev/fence.ts';
import { devInfoHash } from '../platform/tdx/world.ts';
import { ccaWorld, G, rsiOk, teePages as teePagesCca } from './tsm/cca-world.ts';
import { GUEST_BDF, guestOf, SDTE, sealed, sevHostWorld, teeRanges } from './tsm/sev-world.ts';
import { tdcall, tdxWorld, teePages } from './tsm/tdx-world.ts';
import {
  assigned,
  barOffset,
  faultPrivate,
  firmwareCalls,
  guestAddress,
  hypercall,
  launchedVm,
  noPrivateMmio,
  refusedVmm,
  uapiOps,
  withVmm,
} from './vmm-world.ts';
import { ok } from './world.ts';

// The VMM's hypercall shapes are the guest's (host/ and guest/ do not import each other).
const toVmm = (c: GuestHypercall): VmmHypercall => c;
const toGuest = (r: VmmHypercallResult): HypercallResult => r;
void toVmm;
void toGuest;

const SECRET = new Uint8Array([0xca, 0xfe, 0xf0, 0x0d]);

/** The kernel's unbind in the 'stop-first' order (switch unbindOrder), through the vDEVICE. */
const STOP_FIRST = [
  'pci_tsm_stop',
  'kvm_dmabuf_move_notify',
  'dma_buf_move_notify',
  'pci_tsm_unbind',
  'dma_buf_restore',
  'IOMMU_VDEVICE_TSM_OP',
  'KVM_EXIT_HYPERCALL',
];

/** PSP commands, less the rounds a command spends carrying SPDM (SEV_RET_SPDM_REQUEST). */
const pspCalls = (events: HostEvent[]) =>
  firmwareCalls(events.filter((e) => !('status' in e) || e.status !== 'SEV_RET_SPDM_REQUEST'));

describe('TDX: the host half of a lifecycle through the VMM', () => {
  it('connect, TD, assign, bind, relays, private MMIO, DMA, RUN; unbind stop-first; release, destroy', async () => {
    const w = withVmm(await tdxWorld('vmm tdx lifecycle'));
    const { m, h, s, rid, dsm } = w;
    ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    const { vmFd, vm } = await launchedVm(w);
    const d = await assigned(w, vmFd, 0x10);
    assert.equal(d.bars.length > 0, true);
    const td = async (call: string, args: Record<string, bigint | number | string> = {}) => {
      const o = await tdcall(w, call, args, vm);
      assert.equal(o.status, 'TDX_SUCCESS', `${call}: ${o.status} ${o.detail ?? ''}`);
      return o.value;
    };
    const relay = async (name: string, scope: 'info' | 'state-change') => {
      await td('TDG.DEVIF.REQUEST', { request: name });
      const r = await hypercall(w, vmFd, {
        op: 'tsm-guest-req',
        vdevId: 0x10,
        scope,
        message: { name },
      });
      assert.deepEqual(ok(r), { request: name });
      assert.deepEqual(uapiOps(r.events, 'iommufd'), ['IOMMU_VDEVICE_TSM_REQ']);
      return td('TDG.DEVIF.RESPONSE');
    };

    const bind = await hypercall(w, vmFd, { op: 'tsm-bind', vdevId: 0x10 });
    ok(bind);
    assert.deepEqual(firmwareCalls(bind.events), [
      'TDH.DEVIF.CREATE',
      'TDH.DEVIF.REQUEST',
      'TDH.DEVIF.RESPONSE',
      'TDH.DMAR.ADD',
    ]);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
    await td('TDG.DEVIF.VALIDATE', { devInfoHash: devInfoHash(w.dev) });
    await relay('GET_DEVICE_INTERFACE_REPORT', 'info');

    const pages = teePages(w);
    const gpas = pages.map((pg) => guestAddress(w, d, pg.pfn << PAGE_SHIFT));
    for (const [i, pg] of pages.entries()) {
      const r = await faultPrivate(w, vmFd, gpas[i]);
      // phys-vec (the default): KVM asks the exporter for the page at each fault.
      assert.deepEqual(uapiOps(r.events), ['dma_buf_get_pfn', 'kvm_mmu_page_fault', 'KVM_RUN']);
      assert.deepEqual(firmwareCalls(r.events), [
        'TDH.MMIOMT.ADD',
        'TDH.MMIOMT.SET',
        'TDH.MMIO.MAP',
      ]);
      await td('TDG.MMIO.ACCEPT', {
        gfn: gpas[i] >> PAGE_SHIFT,
        rangeId: pg.rangeId,
        pageOffset: pg.pageOffset,
      });
    }
    await td('TDG.DMAR.ACCEPT');
    await relay('START_INTERFACE_REQUEST', 'state-change');
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
    const wr = guestMmioWrite(w.p.hw, w.bus, w.views, vm, gpas[0], SECRET);
    assert.equal(wr.result.status, 'SC');
    const rd = guestMmioRead(w.p.hw, w.bus, w.views, vm, gpas[0], 4);
    assert.deepEqual(rd.result.status === 'SC' && [...rd.result.data], [...SECRET]);

    const unbind = await hypercall(w, vmFd, { op: 'tsm-unbind', vdevId: 0x10 });
    ok(unbind);
    // TDX's order: STOP, the dma-bufs revoked so KVM unmaps the private MMIO (block, track,
    // unmap), then the trusted DMA context, the MMIO table entries and the DEVIF freed.
    assert.deepEqual(uapiOps(unbind.events), STOP_FIRST);
    assert.deepEqual(firmwareCalls(unbind.events), [
      'TDH.DEVIF.REQUEST',
      'TDH.DEVIF.RESPONSE',
      ...pages.flatMap(() => ['TDH.MMIO.BLOCK', 'TDH.MEM.TRACK', 'TDH.MMIO.UNMAP']),
      'TDH.DMAR.BLOCK',
      'TDH.DMAR.REMOVE',
      ...pages.map(() => 'TDH.MMIOMT.REMOVE'),
      'TDH.DEVIF.REMOVE',
    ]);
    noPrivateMmio(w);
    assert.equal(w.p.hw.iommu.secure.has(rid), false);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    const { bar, offset } = barOffset(w, pages[0].pfn << PAGE_SHIFT);
    const after = w.dev.device.mmioRead(w.tdi.fn, bar, offset, 4, { t: false });
    assert.ok(after.status === 'SC' && after.data.every((b) => b === 0), 'scrubbed');

    const rel = await vmmReleaseDevice(m, h, s, vmFd, 0x10);
    ok(rel);
    const des = await vmmDestroyVm(m, h, s, vmFd);
    ok(des);
    assert.deepEqual(firmwareCalls(rel.events), [], 'nothing of the TDI is left to the firmware');
    assert.deepEqual(uapiOps(rel.events).slice(-2), ['close', 'vfio_exitfn']);
    assert.deepEqual(firmwareCalls(des.events), ['TDH.PHYMEM.PAGE.RECLAIM']);
    ok(await pciTsmDisconnect(m, h, { dsm, tsm: LINK_TSM }));
    assert.equal(h.kvm.vms.size, 0);
    assert.equal(w.p.hw.septs.has(vm), false);
  });
});

describe('SEV: the host half of a lifecycle through the VMM', () => {
  it('connect, SNP guest, assign, bind (TDI_BIND locks), relayed TIO_MSG_*, private MMIO, RUN; unbind; release, destroy', async () => {
    const w = withVmm(await sevHostWorld('vmm sev lifecycle'));
    const { m, h, s, rid, dsm } = w;
    ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    const { vmFd, vm } = await launchedVm(w);
    const d = await assigned(w, vmFd, GUEST_BDF);
    const g = guestOf(w, vm);
    const msg = async (scope: 'info' | 'state-change', message: Record<string, AbiArg>) => {
      const r = await hypercall(w, vmFd, {
        op: 'tsm-guest-req',
        vdevId: GUEST_BDF,
        scope,
        // Sealed as the honest guest seals it (its VMPCK and next sequence number).
        message: sealed(w, message, vm),
      });
      return ok(r) as SevGuestReply;
    };

    const bind = await hypercall(w, vmFd, { op: 'tsm-bind', vdevId: GUEST_BDF });
    ok(bind);
    // TDI_BIND needs the guest context and locks; the status is the trusted DMA setup's.
    assert.deepEqual(pspCalls(bind.events), ['TIO_TDI_CREATE', 'TIO_TDI_BIND', 'TIO_TDI_STATUS']);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
    const info = await msg('info', { type: 'TIO_MSG_TDI_INFO_REQ' });
    assert.equal(info.status, 'TDI_INFO_SUCCESS');

    const ranges = teeRanges(w);
    const gpas: bigint[] = [];
    for (const r of ranges) {
      const base = guestAddress(w, d, r.base);
      for (let k = 0n; k < BigInt(r.pages); k++) {
        const f = await faultPrivate(w, vmFd, base + (k << PAGE_SHIFT));
        assert.deepEqual(firmwareCalls(f.events), ['RMPUPDATE']);
        gpas.push(base + (k << PAGE_SHIFT));
      }
      const v = await msg('state-change', {
        type: 'TIO_MSG_MMIO_VALIDATE_REQ',
        subrangeBase: base,
        subrangePageCount: r.pages,
        rangeOffset: 0,
        rangeId: r.rangeId,
        validated: true,
      });
      assert.equal(v.status, 'MMIO_VALIDATE_SUCCESS', v.detail);
    }
    const sdte = await msg('state-change', { type: 'TIO_MSG_SDTE_WRITE_REQ', ...SDTE });
    assert.equal(sdte.status, 'SDTE_WRITE_SUCCESS', sdte.detail);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
    const wr = guestMmioWrite(w.p.hw, w.bus, w.views, g.firmwareVm, gpas[0], SECRET);
    assert.equal(wr.result.status, 'SC');

    const unbind = await hypercall(w, vmFd, { op: 'tsm-unbind', vdevId: GUEST_BDF });
    ok(unbind);
    assert.deepEqual(uapiOps(unbind.events), STOP_FIRST);
    // SEV's order: TDI_UNBIND (forced under RUN, fencing the ASID) returns the BAR pages to
    // shared, so KVM's zap needs no RMPUPDATE; then the reclaim and the fence cleared.
    assert.deepEqual(pspCalls(unbind.events), [
      'TIO_TDI_UNBIND',
      'TIO_TDI_UNBIND',
      'TIO_TDI_STATUS',
      'TIO_TDI_RECLAIM',
      'TIO_ASID_FENCE_STATUS',
      'TIO_ASID_FENCE_CLEAR',
    ]);
    assert.equal(asidFenced(w.p, g.firmwareVm), false);
    noPrivateMmio(w);
    assert.equal(w.p.hw.iommu.secure.has(rid), false);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    const { bar, offset } = barOffset(w, ranges[0].base);
    const after = w.dev.device.mmioRead(w.tdi.fn, bar, offset, 4, { t: false });
    assert.ok(after.status === 'SC' && after.data.every((b) => b === 0), 'scrubbed');

    ok(await vmmReleaseDevice(m, h, s, vmFd, GUEST_BDF));
    const des = await vmmDestroyVm(m, h, s, vmFd);
    ok(des);
    assert.deepEqual(firmwareCalls(des.events), ['SNP_DECOMMISSION']);
    ok(await pciTsmDisconnect(m, h, { dsm, tsm: LINK_TSM }));
    assert.equal(h.kvm.vms.size, 0);
  });
});

describe('CCA: the host half of a lifecycle through the VMM', () => {
  it('connect, Realm, assign, bind, relayed RHI_DA_*, private MMIO, RUN; unbind; release, destroy', async () => {
    const w = withVmm(await ccaWorld('vmm cca lifecycle'));
    const { m, h, s, rid, dsm, p, env } = w;
    ok(await pciTsmConnect(m, h, { dsm, tsm: LINK_TSM }));
    const { vmFd, vm } = await launchedVm(w);
    const vdevId = 0x10;
    const d = await assigned(w, vmFd, vdevId);
    const req = (scope: 'info' | 'state-change', message: Record<string, AbiArg>) =>
      hypercall(w, vmFd, { op: 'tsm-guest-req', vdevId, scope, message });

    const bind = await hypercall(w, vmFd, { op: 'tsm-bind', vdevId });
    ok(bind);
    assert.deepEqual(firmwareCalls(bind.events), [
      'RMI_VDEV_CREATE',
      'RMI_VDEV_COMMUNICATE',
      'RMI_VDEV_LOCK',
      'RMI_VDEV_COMMUNICATE',
      'RMI_VDEV_GET_STATE',
    ]);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
    ok(await req('info', { name: 'RHI_DA_VDEV_GET_INTERFACE_REPORT' }));
    const read = ok(
      await req('info', {
        name: 'RHI_DA_OBJECT_READ',
        objectType: 'RHI_DA_OBJECT_INTERFACE_REPORT',
      }),
    ) as { data: Uint8Array };
    const info = await rsiOk(G.RSI_VDEV_GET_INFO(p, env, { realm: vm, vdevId: BigInt(vdevId) }));
    assert.deepEqual(info.reportDigest, digest('sha256', read.data));
    const attest = {
      lockNonce: info.lockNonce,
      measNonce: info.measNonce,
      reportNonce: info.reportNonce,
    };

    const pages = teePagesCca(w);
    const ipas = pages.map((pa) => guestAddress(w, d, pa));
    for (const [i, pa] of pages.entries()) {
      const f = await faultPrivate(w, vmFd, ipas[i]);
      assert.deepEqual(firmwareCalls(f.events), ['RMI_VDEV_MAP']);
      const v = await rsiOk(
        G.RSI_VDEV_VALIDATE_MAPPING(p, env, {
          realm: vm,
          vdevId: BigInt(vdevId),
          ipaBase: ipas[i],
          ipaTop: ipas[i] + 0x1000n,
          paBase: pa,
          ...attest,
        }),
      );
      assert.equal(v.response, 'RSI_ACCEPT');
    }
    ok(
      await req('state-change', {
        name: 'RHI_DA_VDEV_SET_TDI_STATE',
        tdiState: 'RHI_DA_TDI_CONFIG_RUN',
      }),
    );
    await rsiOk(G.RSI_VDEV_DMA_ENABLE(p, env, { realm: vm, vdevId: BigInt(vdevId), ...attest }));
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'RUN');
    const wr = realmMmioAccess(p, w.bus, w.views, { realm: vm, ipa: ipas[0], data: SECRET });
    assert.equal(wr.result.kind === 'access' && wr.result.access.status, 'SC');

    const unbind = await hypercall(w, vmFd, { op: 'tsm-unbind', vdevId });
    ok(unbind);
    assert.deepEqual(uapiOps(unbind.events), STOP_FIRST);
    // CCA's order: the RMM unmaps the VDEV's pages in the stop, before RMI_VDEV_UNLOCK; KVM's
    // zap then finds them released; RMI_VDEV_DESTROY frees the VDEV.
    assert.deepEqual(firmwareCalls(unbind.events), [
      'RMI_VDEV_GET_STATE',
      ...pages.map(() => 'RMI_VDEV_UNMAP'),
      'RMI_VDEV_UNLOCK',
      'RMI_VDEV_COMMUNICATE',
      'RMI_VDEV_DESTROY',
    ]);
    noPrivateMmio(w);
    assert.equal(w.p.hw.iommu.secure.has(rid), false);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    const { bar, offset } = barOffset(w, pages[0]);
    const after = w.dev.device.mmioRead(w.tdi.fn, bar, offset, 4, { t: false });
    assert.ok(after.status === 'SC' && after.data.every((b) => b === 0), 'scrubbed');

    ok(await vmmReleaseDevice(m, h, s, vmFd, vdevId));
    const des = await vmmDestroyVm(m, h, s, vmFd);
    ok(des);
    assert.deepEqual(firmwareCalls(des.events), ['RMI_REALM_DESTROY']);
    ok(await pciTsmDisconnect(m, h, { dsm, tsm: LINK_TSM }));
    assert.equal(h.kvm.vms.size, 0);
  });
});

describe('the VMM refuses, changing nothing', () => {
  it('hypercalls for no VM, no device, no pages; relays and unbinds of an unbound device; a taken BDF', async () => {
    const w = withVmm(await tdxWorld('vmm refusals'));
    ok(await pciTsmConnect(w.m, w.h, { dsm: w.dsm, tsm: LINK_TSM }));
    const { vmFd } = await launchedVm(w);
    await assigned(w, vmFd, 0x10);
    const bind = { op: 'tsm-bind', vdevId: 0x10 } as const;
    await refusedVmm(w, 'EBADF', () => hypercall(w, 999, bind));
    await refusedVmm(w, 'ENODEV', () => hypercall(w, vmFd, { op: 'tsm-bind', vdevId: 0x11 }));
    await refusedVmm(w, 'EINVAL', () =>
      hypercall(w, vmFd, { op: 'map-gpa', gpa: 0n, pages: 0, private: false }),
    );
    await refusedVmm(w, 'EINVAL', () =>
      hypercall(w, vmFd, { op: 'map-gpa', gpa: 0x10n, pages: 1, private: false }),
    );
    await refusedVmm(w, 'ENXIO', () => hypercall(w, vmFd, { op: 'tsm-unbind', vdevId: 0x10 }));
    const req = { op: 'tsm-guest-req', vdevId: 0x10, scope: 'info', message: {} } as const;
    const r = await refusedVmm(w, 'ENOENT', () => hypercall(w, vmFd, req));
    // What the guest sees of a refusal: the errno and why, as HypercallResult has it.
    const seen: HypercallResult = r;
    assert.equal(seen.ok, false);
    await refusedVmm(w, 'EEXIST', () =>
      vmmAssignDevice(w.m, w.h, w.s, vmFd, { rid: w.dsm, vdevId: 0x10 }),
    );
    await refusedVmm(w, 'EBUSY', () =>
      vmmAssignDevice(w.m, w.h, w.s, vmFd, { rid: w.rid, vdevId: 0x12 }),
    );
    await refusedVmm(w, 'EINVAL', () => vmmCreateVm(w.m, w.h, w.s, { ramPages: 0 }));
    await refusedVmm(w, 'EINVAL', () => vmmFinalizeVm(w.m, w.h, w.s, vmFd));
    // A bound TDI keeps its VM: the VM fd cannot close under it.
    ok(await hypercall(w, vmFd, bind));
    await refusedVmm(w, 'EEXIST', () => hypercall(w, vmFd, bind));
    await refusedVmm(w, 'EBUSY', () => kvmDestroyVm(w.m, w.h, { vmFd }));
  });
});
