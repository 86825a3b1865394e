/**
 * iommufd: IOAS map/unmap into every domain of the IOAS (and undone on a hardware refusal),
 * HWPT, vIOMMU with KVM, vDEVICE, and the vDEVICE TSM op and request errnos that need no TSM
 * driver (the bind and request success paths are in vfio-tsm.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iommuHwptAlloc } from '../../src/host/iommufd/hwpt.ts';
import { iommuIoasAlloc, iommuIoasMap, iommuIoasUnmap } from '../../src/host/iommufd/ioas.ts';
import { iommufdOpen } from '../../src/host/iommufd/object.ts';
import {
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
  IOMMU_VDEVICE_TSM_BIND,
  IOMMU_VDEVICE_TSM_UNBIND,
} from '../../src/host/iommufd/uapi.ts';
import { iommuVdeviceAlloc } from '../../src/host/iommufd/vdevice.ts';
import { iommuVdeviceTsmOp, iommuVdeviceTsmReq } from '../../src/host/iommufd/vdevice-tsm.ts';
import { iommuViommuAlloc } from '../../src/host/iommufd/viommu.ts';
import { createHostState } from '../../src/host/state.ts';
import { vfioClose } from '../../src/host/vfio/cdev.ts';
import { PAGE_SHIFT } from '../../src/platform/ids.ts';
import { setPageOwner } from '../../src/platform/memory.ts';
import { pfnCount, pfnEntries } from '../../src/platform/pfn-table.ts';
import { kvmVm, openBound, vdeviceFor, vfioWorld } from './vfio-support.ts';
import { ok, refused } from './world.ts';

const RW = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
const MEM = 0x1_0000_0000n;

describe('iommufd IOAS and HWPT', () => {
  it('/dev/iommu opens once in this model; IOAS_ALLOC needs it', async () => {
    const h = createHostState();
    const w = await vfioWorld('tdx');
    await refused(w, 'EBUSY', () => iommufdOpen(w.h));
    const r = iommuIoasAlloc(w.m, h);
    assert.equal(r.ok ? 'ok' : r.errno, 'EBADF');
  });

  it('IOAS_MAP maps the pages into every HWPT domain of the IOAS; UNMAP takes them out', async () => {
    const w = await vfioWorld('tdx');
    const { devId } = openBound(w, w.rid, false);
    const ioas = ok(iommuIoasAlloc(w.m, w.h));
    const hwpt = ok(iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: ioas }));
    const o = w.h.iommufd.objects.get(hwpt);
    assert.ok(o?.type === 'hwpt');
    const table = () => w.m.iommu.domains.get(o.domain);
    const iova = ok(
      iommuIoasMap(w.m, w.h, { ioasId: ioas, flags: RW, userVa: MEM, length: 0x2000n }),
    );
    assert.equal(iova, 0n);
    assert.deepEqual(pfnEntries(table() ?? {}), [
      [0, { hpfn: MEM >> PAGE_SHIFT, writable: true }],
      [1, { hpfn: (MEM >> PAGE_SHIFT) + 1n, writable: true }],
    ]);
    // The next map without FIXED_IOVA lands after it; a HWPT allocated later gets both.
    const next = ok(
      iommuIoasMap(w.m, w.h, {
        ioasId: ioas,
        flags: IOMMU_IOAS_MAP_READABLE,
        userVa: MEM + 0x2000n,
        length: 0x1000n,
      }),
    );
    assert.equal(next, 0x2000n);
    const hwpt2 = ok(iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: ioas }));
    const o2 = w.h.iommufd.objects.get(hwpt2);
    assert.ok(o2?.type === 'hwpt');
    assert.equal(w.m.iommu.domains.get(o2.domain)?.[2]?.writable, false);
    assert.equal(
      ok(iommuIoasUnmap(w.m, w.h, { ioasId: ioas, iova: 0n, length: 0x3000n })),
      0x3000n,
    );
    assert.equal(pfnCount(table() ?? {}), 0);
    assert.equal(pfnCount(w.m.iommu.domains.get(o2.domain) ?? {}), 0);
  });

  it('IOAS_MAP, IOAS_UNMAP and HWPT_ALLOC errnos; a page the hardware refuses undoes the map', async () => {
    const w = await vfioWorld('tdx');
    const { devId } = openBound(w, w.rid, false);
    const ioas = ok(iommuIoasAlloc(w.m, w.h));
    const hwpt = ok(iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: ioas }));
    const map = (a: Partial<Parameters<typeof iommuIoasMap>[2]>) =>
      iommuIoasMap(w.m, w.h, { ioasId: ioas, flags: RW, userVa: MEM, length: 0x1000n, ...a });
    await refused(w, 'ENOENT', () => map({ ioasId: 999 }));
    await refused(w, 'ENOENT', () => map({ ioasId: hwpt }));
    await refused(w, 'EINVAL', () => map({ flags: 1 << 7 }));
    await refused(w, 'EINVAL', () => map({ flags: IOMMU_IOAS_MAP_FIXED_IOVA }));
    await refused(w, 'EINVAL', () => map({ length: 0n }));
    await refused(w, 'EINVAL', () => map({ userVa: MEM + 0x10n }));
    await refused(w, 'EFAULT', () => map({ userVa: 0x1000n }));
    ok(map({ flags: RW | IOMMU_IOAS_MAP_FIXED_IOVA, iova: 0x10000n }));
    await refused(w, 'EEXIST', () =>
      map({ flags: RW | IOMMU_IOAS_MAP_FIXED_IOVA, iova: 0x10000n, userVa: MEM + 0x1000n }),
    );
    // The second page is private to a VM: the hardware refuses it, and the first page's
    // mapping is taken out again, so the domain is as it was.
    const o = w.h.iommufd.objects.get(hwpt);
    assert.ok(o?.type === 'hwpt');
    const before = pfnEntries(w.m.iommu.domains.get(o.domain) ?? {});
    setPageOwner(w.p.hw.memory, Number(MEM >> PAGE_SHIFT) + 9, { kind: 'private', vm: 'td1' });
    const r = await refused(w, 'EPERM', () => map({ userVa: MEM + 0x8000n, length: 0x2000n }));
    assert.ok(r.events.some((e) => e.kind === 'iommu' && e.op === 'iommu_unmap'));
    assert.deepEqual(pfnEntries(w.m.iommu.domains.get(o.domain) ?? {}), before);
    const unmapped = iommuIoasUnmap;
    await refused(w, 'ENOENT', () =>
      unmapped(w.m, w.h, { ioasId: 999, iova: 0n, length: 0x1000n }),
    );
    await refused(w, 'EINVAL', () =>
      unmapped(w.m, w.h, { ioasId: ioas, iova: 0x10n, length: 0x1000n }),
    );
    await refused(w, 'ENOENT', () =>
      unmapped(w.m, w.h, { ioasId: ioas, iova: 0x80000n, length: 0x1000n }),
    );
    await refused(w, 'ENOENT', () =>
      iommuHwptAlloc(w.m, w.h, { flags: 0, devId: 999, ptId: ioas }),
    );
    await refused(w, 'ENOENT', () => iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: 999 }));
    await refused(w, 'EOPNOTSUPP', () => iommuHwptAlloc(w.m, w.h, { flags: 1, devId, ptId: ioas }));
    // A HWPT over an IOAS holding a page that became private is refused, its domain freed.
    const domains = w.m.iommu.domains.size;
    const ioas2 = ok(iommuIoasAlloc(w.m, w.h));
    setPageOwner(w.p.hw.memory, Number(MEM >> PAGE_SHIFT) + 20, { kind: 'shared' });
    ok(
      iommuIoasMap(w.m, w.h, { ioasId: ioas2, flags: RW, userVa: MEM + 0x14000n, length: 0x1000n }),
    );
    setPageOwner(w.p.hw.memory, Number(MEM >> PAGE_SHIFT) + 20, { kind: 'private', vm: 'td1' });
    const next = w.m.iommu.nextDomain;
    await refused(w, 'EPERM', () => iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: ioas2 }));
    assert.equal(w.m.iommu.domains.size, domains);
    assert.equal(w.m.iommu.nextDomain, next);
  });
});

describe('iommufd vIOMMU and vDEVICE', () => {
  it('VIOMMU_ALLOC with the KVM VM; VDEVICE_ALLOC; their errnos', async () => {
    const w = await vfioWorld('tdx');
    const { devId } = openBound(w);
    const other = openBound(w, w.dsm);
    const vmFd = kvmVm(w.h);
    const ioas = ok(iommuIoasAlloc(w.m, w.h));
    const hwpt = ok(iommuHwptAlloc(w.m, w.h, { flags: 0, devId, ptId: ioas }));
    const va = (a: Partial<Parameters<typeof iommuViommuAlloc>[2]>) =>
      iommuViommuAlloc(w.m, w.h, { flags: 0, type: 0, devId, hwptId: hwpt, kvmVmFd: vmFd, ...a });
    await refused(w, 'ENOENT', () => va({ devId: 999 }));
    await refused(w, 'ENOENT', () => va({ hwptId: ioas }));
    await refused(w, 'EINVAL', () => va({ devId: other.devId }));
    await refused(w, 'EOPNOTSUPP', () => va({ flags: 1 }));
    await refused(w, 'EOPNOTSUPP', () => va({ type: 3 }));
    await refused(w, 'EBADF', () => va({ kvmVmFd: 999 }));
    const viommu = ok(va({}));
    assert.deepEqual(w.h.iommufd.objects.get(viommu), {
      type: 'viommu',
      id: viommu,
      devId,
      hwpt,
      kvmVmFd: vmFd,
    });
    const vd = (a: Partial<Parameters<typeof iommuVdeviceAlloc>[2]>) =>
      iommuVdeviceAlloc(w.m, w.h, { viommuId: viommu, devId, virtId: 0x10n, ...a });
    await refused(w, 'ENOENT', () => vd({ viommuId: hwpt }));
    await refused(w, 'ENOENT', () => vd({ devId: 999 }));
    await refused(w, 'EINVAL', () => vd({ virtId: 1n << 32n }));
    const vdev = ok(vd({}));
    assert.equal(w.h.iommufd.objects.get(vdev)?.type, 'vdevice');
    await refused(w, 'EEXIST', () => vd({ virtId: 0x11n }));
    await refused(w, 'EEXIST', () => vd({ devId: other.devId }));
    // Closing the device takes its vDEVICE with it.
    const fd = w.h.vfio.devices.values().next().value?.fd ?? -1;
    ok(await vfioClose(w.m, w.h, { fd }));
    assert.equal(w.h.iommufd.objects.has(vdev), false);
  });
});

describe('IOMMU_VDEVICE_TSM_OP and IOMMU_VDEVICE_TSM_REQ errnos', () => {
  it('every refusal before the TSM, with nothing changed', async () => {
    const w = await vfioWorld('tdx');
    const { devId } = openBound(w);
    const vmFd = kvmVm(w.h);
    const withKvm = vdeviceFor(w, devId, vmFd);
    const op = (a: Partial<Parameters<typeof iommuVdeviceTsmOp>[2]>) =>
      iommuVdeviceTsmOp(w.m, w.h, {
        vdeviceId: withKvm.vdev,
        type: IOMMU_VDEVICE_TSM_BIND,
        flags: 0,
        ...a,
      });
    await refused(w, 'EOPNOTSUPP', () => op({ flags: 1 }));
    await refused(w, 'ENOENT', () => op({ vdeviceId: 999 }));
    await refused(w, 'EINVAL', () => op({ type: 7 }));
    await refused(w, 'ENXIO', () => op({ type: IOMMU_VDEVICE_TSM_UNBIND }));
    // No TSM connected: pci_tsm_bind's ENXIO, nothing changed.
    await refused(w, 'ENXIO', () => op({}));
    // A vIOMMU without KVM: ENOENT; a KVM VM that is gone: ENODEV.
    const noKvm = await vfioWorld('tdx');
    const b = openBound(noKvm);
    const v = vdeviceFor(noKvm, b.devId);
    await refused(noKvm, 'ENOENT', () =>
      iommuVdeviceTsmOp(noKvm.m, noKvm.h, { vdeviceId: v.vdev, type: 0, flags: 0 }),
    );
    w.h.kvm.vms.delete(vmFd);
    await refused(w, 'ENODEV', () => op({}));
    // A device bound without _PRIVATE: EINVAL.
    const shared = await vfioWorld('tdx');
    const s = openBound(shared, shared.rid, false);
    const sv = vdeviceFor(shared, s.devId, kvmVm(shared.h));
    await refused(shared, 'EINVAL', () =>
      iommuVdeviceTsmOp(shared.m, shared.h, { vdeviceId: sv.vdev, type: 0, flags: 0 }),
    );
    // The device closed: its vDEVICE is gone (ENOENT).
    const req = { scope: 'info' as const, message: { name: 'GET_DEVICE_INTERFACE_REPORT' } };
    await refused(w, 'ENOENT', () =>
      iommuVdeviceTsmReq(w.m, w.h, { vdeviceId: 999, request: req }),
    );
    await refused(w, 'ENOENT', () =>
      iommuVdeviceTsmReq(w.m, w.h, { vdeviceId: withKvm.vdev, request: req }),
    );
  });

  it("with bindUapi 'vfio' the vDEVICE op answers EOPNOTSUPP", async () => {
    const w = await vfioWorld('tdx', { bindUapi: 'vfio' });
    const { devId } = openBound(w);
    const v = vdeviceFor(w, devId, kvmVm(w.h));
    await refused(w, 'EOPNOTSUPP', () =>
      iommuVdeviceTsmOp(w.m, w.h, { vdeviceId: v.vdev, type: IOMMU_VDEVICE_TSM_BIND, flags: 0 }),
    );
  });
});
