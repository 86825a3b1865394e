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
import type { GuestHypercall, HypercallResult } from '../../src/guest/machine.ts';
import { LINK_TSM, pciTsmConnect, pciTsmDisconnect } from '../../src/host/pci-tsm/core.ts';
import type { VmmHypercall, VmmHypercallResult } from '../../src/host/vmm/index.ts';
import { vmmDestroyVm, vmmReleaseDevice } from '../../src/host/vmm/index.ts';
import { guestMmioRead, guestMmioWrite } from '../../src/platform/fabric.ts';
import { PAGE_SHIFT } from '../../src/platform/ids.ts';
import { devInfoHash } from '../platform/tdx/world.ts';
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
      assert.deepEqual(uapiOps(r.events), ['kvm_mmu_page_fault', 'KVM_RUN']);
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
    assert.deepEqual(uapiOps(unbind.events), [
      'pci_tsm_stop',
      'kvm_dmabuf_move_notify',
      'dma_buf_move_notify',
      'pci_tsm_unbind',
      'dma_buf_restore',
      'IOMMU_VDEVICE_TSM_OP',
      'KVM_EXIT_HYPERCALL',
    ]);
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
