/**
 * The TSM bind and unbind of a VFIO device through both uAPIs (switch 1), and what the other
 * switches do to it: the region claim (6), reset while bound (5), the unbind order (10).
 * The errno paths that stop before the TSM run on every branch; the success paths need the
 * flavour's TSM host driver and are skipped only while none is registered for TDX.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../src/device/pci/regs.ts';
import { IOMMU_VDEVICE_TSM_BIND, IOMMU_VDEVICE_TSM_UNBIND } from '../../src/host/iommufd/uapi.ts';
import { iommuVdeviceTsmOp, iommuVdeviceTsmReq } from '../../src/host/iommufd/vdevice-tsm.ts';
import { LINK_TSM, pciTsmConnect } from '../../src/host/pci-tsm/core.ts';
import type { HostSwitches } from '../../src/host/switches.ts';
import { tsmDriver } from '../../src/host/tsm/index.ts';
import { vfioClose, vfioOpen } from '../../src/host/vfio/cdev.ts';
import { vfioDeviceGetRegionInfo, vfioMmap } from '../../src/host/vfio/regions.ts';
import { vfioConfigWrite, vfioDeviceReset } from '../../src/host/vfio/reset.ts';
import { vfioDeviceTsmBind, vfioDeviceTsmUnbind } from '../../src/host/vfio/tsm.ts';
import { VFIO_REGION_INFO_FLAG_PRIVATE } from '../../src/host/vfio/uapi.ts';
import {
  exportBar,
  kvmVm,
  openBound,
  type VfioWorld,
  vdeviceFor,
  vfioWorld,
} from './vfio-support.ts';
import { ok, refused } from './world.ts';

const bindArgs = (fd: number, vdeviceId: number) => ({ fd, argsz: 12, flags: 0, vdeviceId });

describe('VFIO_DEVICE_TSM_BIND / _UNBIND errnos before the TSM', () => {
  it("ENOTTY when the bind is on the vDEVICE (bindUapi 'vdevice')", async () => {
    const w = await vfioWorld('tdx', { bindUapi: 'vdevice' });
    const { fd, devId } = openBound(w);
    const v = vdeviceFor(w, devId, kvmVm(w.h));
    await refused(w, 'ENOTTY', () => vfioDeviceTsmBind(w.m, w.h, bindArgs(fd, v.vdev)));
    await refused(w, 'ENOTTY', () => vfioDeviceTsmUnbind(w.m, w.h, { fd, argsz: 8, flags: 0 }));
  });

  it('EBADF, EINVAL, ENOENT, ENODEV, EBUSY, ENXIO; nothing changed', async () => {
    const w = await vfioWorld('tdx', { bindUapi: 'vfio', regionClaim: 'bind' });
    const { fd, devId } = openBound(w);
    const vmFd = kvmVm(w.h);
    const v = vdeviceFor(w, devId, vmFd);
    const bind = (a: Partial<ReturnType<typeof bindArgs>>) =>
      vfioDeviceTsmBind(w.m, w.h, { ...bindArgs(fd, v.vdev), ...a });
    await refused(w, 'EBADF', () => bind({ fd: 999 }));
    await refused(w, 'EINVAL', () => bind({ argsz: 8 }));
    await refused(w, 'EINVAL', () => bind({ flags: 1 }));
    await refused(w, 'EINVAL', () => bind({ vdeviceId: v.viommu }));
    // A vDEVICE of another device.
    const other = openBound(w, w.dsm);
    const ov = vdeviceFor(w, other.devId, vmFd);
    await refused(w, 'EINVAL', () => bind({ vdeviceId: ov.vdev }));
    // A device bound without _PRIVATE.
    const plain = openBound(w, 2, false);
    await refused(w, 'EINVAL', () => bind({ fd: plain.fd }));
    // No TSM connected: pci_tsm_bind's ENXIO, and the claim not taken.
    await refused(w, 'ENXIO', () => bind({}));
    assert.equal(w.h.vfio.devices.get(fd)?.claimed, false);
    // The host has a BAR mmapped: the claim at bind cannot be taken.
    ok(vfioMmap(w.m, w.h, { fd, bar: 0 }));
    await refused(w, 'EBUSY', () => bind({}));
    w.h.kvm.vms.delete(vmFd);
    await refused(w, 'ENODEV', () => bind({}));
    // A vIOMMU without KVM.
    const n = await vfioWorld('tdx', { bindUapi: 'vfio' });
    const nb = openBound(n);
    const nv = vdeviceFor(n, nb.devId);
    await refused(n, 'ENOENT', () => vfioDeviceTsmBind(n.m, n.h, bindArgs(nb.fd, nv.vdev)));
    await refused(n, 'ENXIO', () =>
      vfioDeviceTsmUnbind(n.m, n.h, { fd: nb.fd, argsz: 8, flags: 0 }),
    );
    await refused(n, 'EINVAL', () =>
      vfioDeviceTsmUnbind(n.m, n.h, { fd: nb.fd, argsz: 4, flags: 0 }),
    );
    await refused(n, 'EBADF', () => vfioDeviceTsmUnbind(n.m, n.h, { fd: 999, argsz: 8, flags: 0 }));
  });
});

/** A connected device, a TD the firmware knows and KVM holds, the device opened private with a dma-buf and a vDEVICE. */
async function boundWorld(t: TestContext, switches: Partial<HostSwitches>) {
  const w = await vfioWorld('tdx', switches);
  const driver = tsmDriver(w.m);
  if (!driver) {
    t.skip('no TSM host driver registered for tdx on this branch yet');
    return undefined;
  }
  ok(await pciTsmConnect(w.m, w.h, { dsm: w.dsm, tsm: LINK_TSM }));
  ok(await driver.vmCreate(w.m, w.h, 'td1'));
  const vmFd = kvmVm(w.h, 'td1');
  const { fd, devId } = openBound(w);
  const buf = exportBar(w, fd);
  const v = vdeviceFor(w, devId, vmFd);
  return { w, fd, buf, ...v };
}

async function bind(w: VfioWorld, fd: number, vdev: number) {
  return w.h.switches.bindUapi === 'vfio'
    ? vfioDeviceTsmBind(w.m, w.h, bindArgs(fd, vdev))
    : iommuVdeviceTsmOp(w.m, w.h, { vdeviceId: vdev, type: IOMMU_VDEVICE_TSM_BIND, flags: 0 });
}

async function unbind(w: VfioWorld, fd: number, vdev: number) {
  return w.h.switches.bindUapi === 'vfio'
    ? vfioDeviceTsmUnbind(w.m, w.h, { fd, argsz: 8, flags: 0 })
    : iommuVdeviceTsmOp(w.m, w.h, { vdeviceId: vdev, type: IOMMU_VDEVICE_TSM_UNBIND, flags: 0 });
}

const uapiOps = (events: { kind: string }[]) =>
  events.flatMap((e) => (e.kind === 'uapi' && 'op' in e ? [e.op as string] : []));

describe('TSM bind and unbind (TDX driver)', () => {
  for (const bindUapi of ['vfio', 'vdevice'] as const) {
    it(`${bindUapi}: bind locks the TDI, claims the BARs, makes the dma-bufs private; unbind undoes it`, async (t) => {
      const s = await boundWorld(t, { bindUapi, regionClaim: 'bind' });
      if (!s) return;
      const { w, fd, buf, vdev } = s;
      const r = await bind(w, fd, vdev);
      ok(r);
      assert.ok(uapiOps(r.events).includes('pci_tsm_bind'));
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
      const d = w.h.vfio.devices.get(fd);
      assert.equal(d?.claimed, true);
      assert.deepEqual(d?.tsmBound, { vdeviceId: vdev });
      assert.equal(w.h.dmaBufs.bufs.get(buf)?.private, true);
      assert.equal(w.h.dmaBufs.bufs.get(buf)?.state, 'live');
      assert.equal(
        ok(vfioDeviceGetRegionInfo(w.m, w.h, { fd, index: 0 })).flags,
        VFIO_REGION_INFO_FLAG_PRIVATE,
      );
      await refused(w, 'EINVAL', () => vfioMmap(w.m, w.h, { fd, bar: 0 }));
      await refused(w, 'EEXIST', () => bind(w, fd, vdev));
      const req = await iommuVdeviceTsmReq(w.m, w.h, {
        vdeviceId: vdev,
        request: { scope: 'info', message: { name: 'GET_DEVICE_INTERFACE_STATE' } },
      });
      const relay = req.events.find((e) => e.kind === 'uapi' && e.op === 'pci_tsm_guest_req');
      assert.equal(relay?.kind === 'uapi' ? relay.args.vm : undefined, 'td1');
      ok(await unbind(w, fd, vdev));
      assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
      assert.equal(d?.claimed, false);
      assert.equal(d?.tsmBound, undefined);
      assert.equal(w.h.dmaBufs.bufs.get(buf)?.private, false);
      assert.equal(w.h.dmaBufs.bufs.get(buf)?.state, 'live');
      assert.equal(w.h.pciTsm.devices.get(w.dsm)?.bound.size, 0);
    });
  }

  for (const unbindOrder of ['stop-first', 'revoke-first'] as const) {
    it(`unbindOrder '${unbindOrder}': the stop and the revocation in that order`, async (t) => {
      const s = await boundWorld(t, { unbindOrder });
      if (!s) return;
      const { w, fd, vdev } = s;
      ok(await bind(w, fd, vdev));
      const r = await unbind(w, fd, vdev);
      ok(r);
      const ops = uapiOps(r.events).filter((o) =>
        ['pci_tsm_stop', 'dma_buf_move_notify', 'pci_tsm_unbind', 'dma_buf_restore'].includes(o),
      );
      assert.deepEqual(
        ops,
        unbindOrder === 'stop-first'
          ? ['pci_tsm_stop', 'dma_buf_move_notify', 'pci_tsm_unbind', 'dma_buf_restore']
          : ['dma_buf_move_notify', 'pci_tsm_stop', 'pci_tsm_unbind', 'dma_buf_restore'],
      );
    });
  }

  it("resetWhileBound 'refuse': MSE clear, reset and close are EBUSY and change nothing", async (t) => {
    const s = await boundWorld(t, { resetWhileBound: 'refuse' });
    if (!s) return;
    const { w, fd, vdev } = s;
    ok(await bind(w, fd, vdev));
    const cmd = w.m.configRead(w.rid, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY;
    const off = cmd & ~PCI_COMMAND_MEMORY;
    // The VF's Command register has no MSE of its own; the host's record does.
    await refused(w, 'EBUSY', () =>
      vfioConfigWrite(w.m, w.h, { fd, offset: PCI_COMMAND, size: 2, value: off }),
    );
    await refused(w, 'EBUSY', () => vfioDeviceReset(w.m, w.h, { fd }));
    await refused(w, 'EBUSY', () => vfioClose(w.m, w.h, { fd }));
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_LOCKED');
  });

  it("resetWhileBound 'unbind': MSE clear unbinds first, then revokes; close unbinds and closes", async (t) => {
    const s = await boundWorld(t, { resetWhileBound: 'unbind' });
    if (!s) return;
    const { w, fd, buf, vdev } = s;
    ok(await bind(w, fd, vdev));
    const r = await vfioConfigWrite(w.m, w.h, { fd, offset: PCI_COMMAND, size: 2, value: 0 });
    ok(r);
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    assert.equal(w.h.vfio.devices.get(fd)?.tsmBound, undefined);
    assert.equal(w.h.dmaBufs.bufs.get(buf)?.state, 'revoked');
    assert.equal(w.h.dmaBufs.bufs.get(buf)?.private, false);
    ok(await bind(w, fd, vdev));
    ok(await vfioClose(w.m, w.h, { fd }));
    assert.equal(w.dev.dsm.tdiState(w.tdi.fn), 'CONFIG_UNLOCKED');
    assert.equal(w.h.dmaBufs.bufs.get(buf)?.state, 'closed');
    assert.equal(w.h.pciTsm.devices.get(w.dsm)?.bound.size, 0);
    assert.equal(vfioOpen(w.m, w.h, { rid: w.rid }).ok, true);
  });
});
