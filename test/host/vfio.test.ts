/**
 * VFIO without a TSM binding: the cdev (open, BIND_IOMMUFD[_PRIVATE], close), regions and
 * their private form, mmap, BAR access through the fabric, the dma-buf export and its
 * errnos, and revocation around MSE clear, D3hot, FLR, VFIO_DEVICE_RESET and hot reset.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_PM,
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_PM_CTRL,
} from '../../src/device/pci/regs.ts';
import {
  vfioClose,
  vfioDeviceAttachIommufdPt,
  vfioDeviceBindIommufd,
  vfioOpen,
} from '../../src/host/vfio/cdev.ts';
import { pciFindCapability } from '../../src/host/vfio/device.ts';
import { O_RDWR, vfioDeviceFeatureDmaBuf } from '../../src/host/vfio/dma-buf-export.ts';
import {
  vfioBarRead,
  vfioBarWrite,
  vfioDeviceGetRegionInfo,
  vfioMmap,
  vfioMunmap,
} from '../../src/host/vfio/regions.ts';
import {
  vfioConfigWrite,
  vfioDevicePciHotReset,
  vfioDeviceReset,
} from '../../src/host/vfio/reset.ts';
import {
  VFIO_DEVICE_FEATURE_DMA_BUF,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_NUM_REGIONS,
  VFIO_PCI_ROM_REGION_INDEX,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_PRIVATE,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
} from '../../src/host/vfio/uapi.ts';
import { exportBar, GET_DMA_BUF, openBound, vfioWorld } from './vfio-support.ts';
import { ok, refused } from './world.ts';

describe('VFIO cdev', () => {
  it('open, bind to the iommufd, close; each errno leaves the records as they were', async () => {
    const w = await vfioWorld('tdx');
    await refused(w, 'ENODEV', () => vfioOpen(w.m, w.h, { rid: 0x7777 }));
    const fd = ok(vfioOpen(w.m, w.h, { rid: w.rid }));
    assert.equal(w.h.vfio.devices.get(fd)?.rid, w.rid);
    await refused(w, 'EBUSY', () => vfioOpen(w.m, w.h, { rid: w.rid }));
    const bind = (a: { fd?: number; iommufd?: number; flags?: number }) =>
      vfioDeviceBindIommufd(w.m, w.h, { fd, iommufd: w.iommufd, ...a });
    await refused(w, 'EBADF', () => bind({ fd: 999 }));
    await refused(w, 'EBADF', () => bind({ iommufd: fd }));
    await refused(w, 'EINVAL', () => bind({ flags: 1 }));
    const devId = ok(bind({}));
    assert.deepEqual(w.h.iommufd.objects.get(devId), {
      type: 'device',
      id: devId,
      rid: w.rid,
      vfioFd: fd,
    });
    assert.equal(w.h.vfio.devices.get(fd)?.bound?.private, false);
    await refused(w, 'EINVAL', () => bind({}));
    ok(await vfioClose(w.m, w.h, { fd }));
    assert.equal(w.h.vfio.devices.has(fd), false);
    assert.equal(w.h.iommufd.objects.has(devId), false);
    await refused(w, 'EBADF', () => vfioClose(w.m, w.h, { fd }));
  });

  it("the private bind claims the BARs at open only when regionClaim is 'open'", async () => {
    const open = await vfioWorld('tdx', { regionClaim: 'open' });
    const a = openBound(open);
    assert.equal(open.h.vfio.devices.get(a.fd)?.claimed, true);
    const bind = await vfioWorld('tdx', { regionClaim: 'bind' });
    const b = openBound(bind);
    assert.equal(bind.h.vfio.devices.get(b.fd)?.claimed, false);
    // A host mmap stops the claim (no host mapping may exist once claimed).
    const c = await vfioWorld('tdx', { regionClaim: 'open' });
    const fd = ok(vfioOpen(c.m, c.h, { rid: c.rid }));
    ok(vfioMmap(c.m, c.h, { fd, bar: 0 }));
    await refused(c, 'EBUSY', () =>
      vfioDeviceBindIommufd(c.m, c.h, { fd, iommufd: c.iommufd, private: true }),
    );
    ok(vfioMunmap(c.m, c.h, { fd, bar: 0 }));
    ok(vfioDeviceBindIommufd(c.m, c.h, { fd, iommufd: c.iommufd, private: true }));
  });

  it('VFIO_DEVICE_ATTACH_IOMMUFD_PT attaches the T=0 DMA to the HWPT domain', async () => {
    const { iommuIoasAlloc } = await import('../../src/host/iommufd/ioas.ts');
    const { iommuHwptAlloc } = await import('../../src/host/iommufd/hwpt.ts');
    const w = await vfioWorld('tdx');
    const unbound = ok(vfioOpen(w.m, w.h, { rid: w.dsm }));
    const { fd, devId } = openBound(w, w.rid, false);
    const ioas = ok(iommuIoasAlloc(w.m, w.h));
    const hwpt = ok(iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: ioas }));
    await refused(w, 'EBADF', () => vfioDeviceAttachIommufdPt(w.m, w.h, { fd: 999, ptId: hwpt }));
    await refused(w, 'EINVAL', () =>
      vfioDeviceAttachIommufdPt(w.m, w.h, { fd: unbound, ptId: hwpt }),
    );
    await refused(w, 'ENOENT', () => vfioDeviceAttachIommufdPt(w.m, w.h, { fd, ptId: ioas }));
    ok(vfioDeviceAttachIommufdPt(w.m, w.h, { fd, ptId: hwpt }));
    const domain = w.h.iommufd.objects.get(hwpt);
    assert.equal(w.m.iommu.attached.get(w.rid), domain?.type === 'hwpt' ? domain.domain : -1);
    // Another domain while attached: iommu_attach_device's EBUSY.
    const hwpt2 = ok(iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: ioas }));
    await refused(w, 'EBUSY', () => vfioDeviceAttachIommufdPt(w.m, w.h, { fd, ptId: hwpt2 }));
  });
});

describe('VFIO regions', () => {
  it('region info, BAR read/write through the fabric, mmap; private BARs only say PRIVATE', async () => {
    const w = await vfioWorld('tdx', { regionClaim: 'open' });
    const shared = ok(vfioOpen(w.m, w.h, { rid: w.dsm }));
    const bar0 = w.m.barAddress(w.dsm, 0);
    assert.ok(bar0);
    const info = ok(vfioDeviceGetRegionInfo(w.m, w.h, { fd: shared, index: 0 }));
    const rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    assert.deepEqual(info, {
      index: 0,
      flags: rw | VFIO_REGION_INFO_FLAG_MMAP,
      size: bar0.size,
      offset: 0n,
    });
    // BAR1 is the upper half of 64-bit BAR0: not implemented, size 0, no flags.
    const bar1 = ok(vfioDeviceGetRegionInfo(w.m, w.h, { fd: shared, index: 1 }));
    assert.equal(bar1.size, 0n);
    assert.equal(bar1.flags, 0);
    const cfg = ok(
      vfioDeviceGetRegionInfo(w.m, w.h, { fd: shared, index: VFIO_PCI_CONFIG_REGION_INDEX }),
    );
    assert.equal(cfg.size, 4096n);
    await refused(w, 'EINVAL', () =>
      vfioDeviceGetRegionInfo(w.m, w.h, { fd: shared, index: VFIO_PCI_NUM_REGIONS }),
    );
    await refused(w, 'EBADF', () => vfioDeviceGetRegionInfo(w.m, w.h, { fd: 999, index: 0 }));
    const data = ok(vfioBarRead(w.m, w.h, { fd: shared, bar: 0, offset: 0n, size: 4 }));
    assert.equal(data.length, 4);
    ok(vfioBarWrite(w.m, w.h, { fd: shared, bar: 0, offset: 0x100n, data: new Uint8Array(4) }));
    await refused(w, 'EINVAL', () =>
      vfioBarRead(w.m, w.h, { fd: shared, bar: 0, offset: bar0.size, size: 4 }),
    );
    await refused(w, 'EINVAL', () =>
      vfioBarRead(w.m, w.h, { fd: shared, bar: 1, offset: 0n, size: 4 }),
    );
    await refused(w, 'EINVAL', () => vfioMmap(w.m, w.h, { fd: shared, bar: 1 }));
    assert.deepEqual(ok(vfioMmap(w.m, w.h, { fd: shared, bar: 0 })), bar0);
    await refused(w, 'EINVAL', () => vfioMunmap(w.m, w.h, { fd: shared, bar: 2 }));

    // The private device: its claimed BARs report only PRIVATE; no read, write or mmap.
    const { fd } = openBound(w);
    const priv = ok(vfioDeviceGetRegionInfo(w.m, w.h, { fd, index: 0 }));
    assert.equal(priv.flags, VFIO_REGION_INFO_FLAG_PRIVATE);
    await refused(w, 'EINVAL', () => vfioBarRead(w.m, w.h, { fd, bar: 0, offset: 0n, size: 4 }));
    await refused(w, 'EINVAL', () =>
      vfioBarWrite(w.m, w.h, { fd, bar: 0, offset: 0n, data: new Uint8Array(4) }),
    );
    await refused(w, 'EINVAL', () => vfioMmap(w.m, w.h, { fd, bar: 0 }));
  });
});

describe('VFIO_DEVICE_FEATURE_DMA_BUF', () => {
  it('exports BAR ranges at their bus addresses; every documented errno', async () => {
    const w = await vfioWorld('tdx');
    const fd = ok(vfioOpen(w.m, w.h, { rid: w.dsm }));
    const bar0 = w.m.barAddress(w.dsm, 0);
    assert.ok(bar0);
    const base = {
      fd,
      featureFlags: GET_DMA_BUF,
      regionIndex: 0,
      openFlags: O_RDWR,
      flags: 0,
      ranges: [{ offset: 0x1000n, length: 0x2000n }],
    };
    const ex = (a: Partial<typeof base>) => vfioDeviceFeatureDmaBuf(w.m, w.h, { ...base, ...a });
    await refused(w, 'EBADF', () => ex({ fd: 999 }));
    await refused(w, 'ENOTTY', () => ex({ featureFlags: GET_DMA_BUF - 1 }));
    await refused(w, 'EINVAL', () =>
      ex({ featureFlags: VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_BUF }),
    );
    await refused(w, 'EINVAL', () => ex({ openFlags: 0o100 }));
    await refused(w, 'EINVAL', () => ex({ flags: 1 }));
    await refused(w, 'EINVAL', () => ex({ ranges: [] }));
    await refused(w, 'EINVAL', () => ex({ ranges: [{ offset: 0n, length: 0n }] }));
    await refused(w, 'EINVAL', () => ex({ ranges: [{ offset: 0x800n, length: 0x1000n }] }));
    await refused(w, 'EINVAL', () => ex({ ranges: [{ offset: bar0.size, length: 0x1000n }] }));
    await refused(w, 'ENODEV', () => ex({ regionIndex: VFIO_PCI_ROM_REGION_INDEX }));
    await refused(w, 'ENODEV', () => ex({ regionIndex: VFIO_PCI_CONFIG_REGION_INDEX }));
    await refused(w, 'EOPNOTSUPP', () => ex({ regionIndex: 1 }));
    const buf = ok(ex({}));
    assert.deepEqual(w.h.dmaBufs.bufs.get(buf), {
      fd: buf,
      vfioFd: fd,
      rid: w.dsm,
      bar: 0,
      ranges: [{ address: bar0.base + 0x1000n, length: 0x2000n }],
      private: false,
      state: 'live',
      importers: [],
    });
    assert.deepEqual(w.h.vfio.devices.get(fd)?.dmaBufs, [buf]);
    assert.equal(VFIO_DEVICE_FEATURE_DMA_BUF, 11);
  });
});

describe('revocation around what takes memory away', () => {
  async function setup() {
    const w = await vfioWorld('tdx');
    const fd = ok(vfioOpen(w.m, w.h, { rid: w.dsm }));
    const buf = exportBar(w, fd);
    return { w, fd, buf, state: () => w.h.dmaBufs.bufs.get(buf)?.state };
  }

  it('MSE clear revokes, MSE set restores', async () => {
    const { w, fd, state } = await setup();
    const cmd = w.m.configRead(w.dsm, PCI_COMMAND, 2);
    const r = ok(
      await vfioConfigWrite(w.m, w.h, {
        fd,
        offset: PCI_COMMAND,
        size: 2,
        value: cmd & ~PCI_COMMAND_MEMORY,
      }),
    );
    assert.equal(r, undefined);
    assert.equal(state(), 'revoked');
    assert.equal(w.m.configRead(w.dsm, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, 0);
    assert.equal(w.h.vfio.devices.get(fd)?.memoryEnabled, false);
    ok(await vfioConfigWrite(w.m, w.h, { fd, offset: PCI_COMMAND, size: 2, value: cmd }));
    assert.equal(state(), 'live');
    await refused(w, 'EINVAL', () =>
      vfioConfigWrite(w.m, w.h, { fd, offset: 4096, size: 4, value: 0 }),
    );
    await refused(w, 'EBADF', () =>
      vfioConfigWrite(w.m, w.h, { fd: 999, offset: 0, size: 4, value: 0 }),
    );
  });

  it('D3hot through the PM capability revokes; D0 restores; an export in D3hot starts revoked', async () => {
    const { w, fd, state } = await setup();
    const pm = pciFindCapability(w.m, w.dsm, PCI_CAP_ID_PM);
    assert.ok(pm !== undefined);
    ok(await vfioConfigWrite(w.m, w.h, { fd, offset: pm + PCI_PM_CTRL, size: 2, value: 3 }));
    assert.equal(state(), 'revoked');
    assert.equal(w.h.vfio.devices.get(fd)?.power, 'D3hot');
    const late = exportBar(w, fd);
    assert.equal(w.h.dmaBufs.bufs.get(late)?.state, 'revoked');
    ok(await vfioConfigWrite(w.m, w.h, { fd, offset: pm + PCI_PM_CTRL, size: 2, value: 0 }));
    assert.equal(state(), 'live');
    assert.equal(w.h.dmaBufs.bufs.get(late)?.state, 'live');
  });

  it('FLR by config write and VFIO_DEVICE_RESET revoke and restore (MSE restored after)', async () => {
    const { w, fd, state } = await setup();
    const exp = pciFindCapability(w.m, w.dsm, PCI_CAP_ID_EXP);
    assert.ok(exp !== undefined);
    const ctl = w.m.configRead(w.dsm, exp + PCI_EXP_DEVCTL, 2);
    const r = await vfioConfigWrite(w.m, w.h, {
      fd,
      offset: exp + PCI_EXP_DEVCTL,
      size: 2,
      value: ctl | PCI_EXP_DEVCTL_BCR_FLR,
    });
    ok(r);
    const ops = r.events.flatMap((e) =>
      e.kind === 'uapi' ? [`${e.op}:${e.args.state ?? ''}`] : [],
    );
    assert.deepEqual(ops.slice(-3), [
      'dma_buf_move_notify:revoked',
      'dma_buf_restore:',
      'VFIO_PCI_CONFIG_REGION write:',
    ]);
    assert.equal(state(), 'live');
    assert.notEqual(w.m.configRead(w.dsm, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, 0);
    const reset = ok(await vfioDeviceReset(w.m, w.h, { fd }));
    assert.equal(reset, undefined);
    assert.equal(state(), 'live');
    await refused(w, 'EBADF', () => vfioDeviceReset(w.m, w.h, { fd: 999 }));
  });

  it('a reset with memory disabled leaves the buffers revoked', async () => {
    const { w, fd, state } = await setup();
    const cmd = w.m.configRead(w.dsm, PCI_COMMAND, 2);
    const off = cmd & ~PCI_COMMAND_MEMORY;
    ok(await vfioConfigWrite(w.m, w.h, { fd, offset: PCI_COMMAND, size: 2, value: off }));
    ok(await vfioDeviceReset(w.m, w.h, { fd }));
    assert.equal(state(), 'revoked');
  });

  it('hot reset needs every function on the bus open (EPERM), then revokes and restores all', async () => {
    const { w, fd, state } = await setup();
    await refused(w, 'EPERM', () => vfioDevicePciHotReset(w.m, w.h, { fd }));
    for (const rid of w.m.functions()) if (rid !== w.dsm) ok(vfioOpen(w.m, w.h, { rid }));
    const r = await vfioDevicePciHotReset(w.m, w.h, { fd });
    ok(r);
    assert.ok(r.events.some((e) => e.kind === 'uapi' && e.op === 'dma_buf_move_notify'));
    assert.equal(state(), 'live');
  });

  it('close revokes for good', async () => {
    const { w, fd, state } = await setup();
    ok(await vfioClose(w.m, w.h, { fd }));
    assert.equal(state(), 'closed');
  });
});
