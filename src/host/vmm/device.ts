/**
 * A device assigned to a confidential VM as QEMU's vfio-pci does it with iommufd (hw/vfio/pci.c
 * realize and exit), through the uAPI only, SYSTEM.md section 4 step 2:
 *
 * assign: open the VFIO cdev and VFIO_DEVICE_BIND_IOMMUFD_PRIVATE (a device meant for a
 * confidential guest); an IOAS with the guest's RAM at IOVA = GPA (its shared DMA,
 * IOMMU_IOAS_MAP), a HWPT the device attaches to, a vIOMMU carrying the VM's KVM fd and the
 * vDEVICE at the guest's virtual BDF (IOMMU_VIOMMU_ALLOC, IOMMU_VDEVICE_ALLOC); then each BAR
 * exported whole as a dma-buf (VFIO_DEVICE_FEATURE_DMA_BUF) and given to KVM as a
 * KVM_MEM_VFIO_DMABUF memslot at a GPA the VMM picks, naturally aligned in its MMIO window.
 * The buffers are shared until the TSM bind makes them private; KVM maps them private or
 * shared as the guest's accesses fault. With switch `bindTime` 'early' the TSM bind is the
 * last step of the assignment, so the guest never sees the device shared.
 *
 * release: the TSM unbind if the device is still bound, the BAR memslots deleted, the
 * cdev closed (its dma-bufs revoked for good, its iommufd device and vDEVICE gone).
 */

import type { Errno } from '../errno.ts';
import { iommuHwptAlloc } from '../iommufd/hwpt.ts';
import { iommuIoasAlloc, iommuIoasMap } from '../iommufd/ioas.ts';
import { iommufdOpen } from '../iommufd/object.ts';
import {
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
  IOMMU_VIOMMU_TYPE_DEFAULT,
} from '../iommufd/uapi.ts';
import { iommuVdeviceAlloc } from '../iommufd/vdevice.ts';
import { iommuViommuAlloc } from '../iommufd/viommu.ts';
import { kvmSetUserMemoryRegion2 } from '../kvm/memslot.ts';
import { KVM_MEM_VFIO_DMABUF } from '../kvm/uapi.ts';
import type { HostMachine } from '../machine.ts';
import type { HostEvent, HostOutcome } from '../outcome.ts';
import type { HostState } from '../state.ts';
import {
  vfioClose,
  vfioDeviceAttachIommufdPt,
  vfioDeviceBindIommufd,
  vfioOpen,
} from '../vfio/cdev.ts';
import { O_CLOEXEC, O_RDWR, vfioDeviceFeatureDmaBuf } from '../vfio/dma-buf-export.ts';
import { vfioDeviceGetRegionInfo } from '../vfio/regions.ts';
import {
  VFIO_DEVICE_FEATURE_DMA_BUF,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_BAR5_REGION_INDEX,
} from '../vfio/uapi.ts';
import { tsmBind, tsmUnbind } from './hypercall.ts';
import { vmmErr, vmmFailed, vmmOk } from './outcome.ts';
import type { VmmBar, VmmDevice, VmmState, VmmVm } from './state.ts';

const PAGE_SHIFT = 12n;
const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** The VMM's iommufd: the one it opened, or the one open already (one per host in this model). */
function iommufdOf(h: HostState, s: VmmState, events: HostEvent[]): HostOutcome<number> {
  if (s.iommufd === 0 && h.iommufd.fd !== 0) s.iommufd = h.iommufd.fd;
  if (s.iommufd !== 0) return { ok: true, value: s.iommufd, events: [] };
  const r = iommufdOpen(h);
  events.push(...r.events);
  if (r.ok) s.iommufd = r.value;
  return r;
}

/**
 * The guest's RAM mapped for the device's shared DMA at IOVA = GPA, one IOMMU_IOAS_MAP per run
 * of contiguous host frames behind the RAM slot (the VMM's own memory).
 */
function mapRam(m: HostMachine, h: HostState, v: VmmVm, ioas: number, events: HostEvent[]) {
  const hpfns = h.kvm.vms.get(v.vmFd)?.memslots.get(v.ramSlot)?.sharedHpfns ?? [];
  const flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
  for (let i = 0; i < hpfns.length; ) {
    let n = 1;
    while (i + n < hpfns.length && hpfns[i + n] === hpfns[i] + BigInt(n)) n++;
    const r = iommuIoasMap(m, h, {
      ioasId: ioas,
      flags,
      userVa: hpfns[i] << PAGE_SHIFT,
      length: BigInt(n) << PAGE_SHIFT,
      iova: BigInt(i) << PAGE_SHIFT,
    });
    events.push(...r.events);
    if (!r.ok) return r;
    i += n;
  }
  return undefined;
}

/**
 * The function `rid` assigned to VM fd `vmFd` at virtual BDF `vdevId`; the VMM's record of it.
 * -EBADF a VM this VMM does not run; -EINVAL a virtual BDF past 16 bits; -EEXIST a device at
 * that BDF already; the uAPI's errno otherwise. A step that fails after the open closes the
 * device and deletes the BAR slots made; the IOAS, HWPT and vIOMMU stay (this model's iommufd
 * has no IOMMU_DESTROY).
 */
export async function vmmAssignDevice(
  m: HostMachine,
  h: HostState,
  s: VmmState,
  vmFd: number,
  a: { rid: number; vdevId: number },
): Promise<HostOutcome<VmmDevice>> {
  const op = 'vfio_realize';
  const args = { vmFd, rid: hex(a.rid), vdevId: a.vdevId };
  const v = s.vms.get(vmFd);
  if (!v) return vmmErr(op, args, 'EBADF', `fd ${vmFd} is not a VM of this VMM`);
  if (!Number.isInteger(a.vdevId) || a.vdevId < 0 || a.vdevId > 0xffff) {
    return vmmErr(op, args, 'EINVAL', `virtual BDF ${a.vdevId}`);
  }
  if (v.devices.has(a.vdevId)) {
    return vmmErr(op, args, 'EEXIST', `a device is at virtual BDF ${hex(a.vdevId)}`);
  }
  const events: HostEvent[] = [];
  const ifd = iommufdOf(h, s, events);
  if (!ifd.ok) return vmmFailed(op, args, ifd, events);
  const o = vfioOpen(m, h, { rid: a.rid });
  events.push(...o.events);
  if (!o.ok) return vmmFailed(op, args, o, events);
  const fd = o.value;
  const slots: number[] = [];
  // What the steps after the open made goes again: the BAR slots, then the device file.
  const undo = async (r: { errno: Errno; detail: string }) => {
    for (const slot of slots) {
      const d = await kvmSetUserMemoryRegion2(m, h, {
        vmFd,
        slot,
        flags: KVM_MEM_VFIO_DMABUF,
        guestPhysAddr: 0n,
        memorySize: 0n,
      });
      events.push(...d.events);
    }
    events.push(...(await vfioClose(m, h, { fd })).events);
    return vmmFailed<VmmDevice>(op, args, r, events);
  };
  const b = vfioDeviceBindIommufd(m, h, { fd, iommufd: ifd.value, flags: 0, private: true });
  events.push(...b.events);
  if (!b.ok) return undo(b);
  const devId = b.value;
  const ioas = iommuIoasAlloc(m, h);
  events.push(...ioas.events);
  if (!ioas.ok) return undo(ioas);
  const mapped = mapRam(m, h, v, ioas.value, events);
  if (mapped) return undo(mapped);
  const hwpt = iommuHwptAlloc(m, h, { flags: 0, devId, ptId: ioas.value });
  events.push(...hwpt.events);
  if (!hwpt.ok) return undo(hwpt);
  const at = vfioDeviceAttachIommufdPt(m, h, { fd, ptId: hwpt.value });
  events.push(...at.events);
  if (!at.ok) return undo(at);
  const viommu = iommuViommuAlloc(m, h, {
    flags: 0,
    type: IOMMU_VIOMMU_TYPE_DEFAULT,
    devId,
    hwptId: hwpt.value,
    kvmVmFd: vmFd,
  });
  events.push(...viommu.events);
  if (!viommu.ok) return undo(viommu);
  const vdev = iommuVdeviceAlloc(m, h, {
    viommuId: viommu.value,
    devId,
    virtId: BigInt(a.vdevId),
  });
  events.push(...vdev.events);
  if (!vdev.ok) return undo(vdev);

  const bars: VmmBar[] = [];
  let gpa = v.nextMmioGpa;
  let nextSlot = v.nextSlot;
  for (let bar = VFIO_PCI_BAR0_REGION_INDEX; bar <= VFIO_PCI_BAR5_REGION_INDEX; bar++) {
    const info = vfioDeviceGetRegionInfo(m, h, { fd, index: bar });
    events.push(...info.events);
    if (!info.ok) return undo(info);
    const size = info.value.size;
    if (size === 0n) continue;
    const buf = vfioDeviceFeatureDmaBuf(m, h, {
      fd,
      featureFlags: VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF,
      regionIndex: bar,
      openFlags: O_RDWR | O_CLOEXEC,
      flags: 0,
      ranges: [{ offset: 0n, length: size }],
    });
    events.push(...buf.events);
    if (!buf.ok) return undo(buf);
    // A BAR is naturally aligned in guest physical space, as the guest's BIOS would place it.
    gpa = ((gpa + size - 1n) / size) * size;
    const slot = nextSlot++;
    const r = await kvmSetUserMemoryRegion2(m, h, {
      vmFd,
      slot,
      flags: KVM_MEM_VFIO_DMABUF,
      guestPhysAddr: gpa,
      memorySize: size,
      guestMemfd: buf.value,
      guestMemfdOffset: 0n,
    });
    events.push(...r.events);
    if (!r.ok) return undo(r);
    slots.push(slot);
    bars.push({ bar, gpa, size, dmaBuf: buf.value, slot });
    gpa += size;
  }
  const d: VmmDevice = {
    vdevId: a.vdevId,
    rid: a.rid,
    vfioFd: fd,
    devId,
    ioas: ioas.value,
    hwpt: hwpt.value,
    viommu: viommu.value,
    vdevice: vdev.value,
    bars,
    tsmBound: false,
    boundEarly: false,
  };
  // Switch bindTime 'early': the TSM bind now, before the guest runs, as a VMM configured to
  // hand the guest a locked TDI would do it at realize. A refused bind fails the assignment.
  if (h.switches.bindTime === 'early') {
    const t = await tsmBind(m, h, d);
    events.push(...t.events);
    if (!t.ok) return undo(t);
    d.tsmBound = true;
    d.boundEarly = true;
  }
  v.devices.set(a.vdevId, d);
  v.nextMmioGpa = gpa;
  v.nextSlot = nextSlot;
  const done = { ...args, vfioFd: fd, vdevice: vdev.value };
  return vmmOk(op, d.boundEarly ? { ...done, bound: 'early' } : done, d, events);
}

/**
 * The device at virtual BDF `vdevId` released: unbound if the guest left it bound, its BAR
 * memslots deleted, its cdev closed. -EBADF a VM this VMM does not run; -ENODEV no device
 * there; the failing step's errno (the steps before it stay done; the record stays so the
 * release can be retried).
 */
export async function vmmReleaseDevice(
  m: HostMachine,
  h: HostState,
  s: VmmState,
  vmFd: number,
  vdevId: number,
): Promise<HostOutcome> {
  const op = 'vfio_exitfn';
  const args = { vmFd, vdevId };
  const v = s.vms.get(vmFd);
  if (!v) return vmmErr(op, args, 'EBADF', `fd ${vmFd} is not a VM of this VMM`);
  const d = v.devices.get(vdevId);
  if (!d) return vmmErr(op, args, 'ENODEV', `no device at virtual BDF ${hex(vdevId)}`);
  const events: HostEvent[] = [];
  if (d.tsmBound) {
    const u = await tsmUnbind(m, h, d);
    events.push(...u.events);
    // ENXIO: the kernel unbound it already (a reset while bound, switch resetWhileBound).
    if (!u.ok && u.errno !== 'ENXIO') return vmmFailed(op, args, u, events);
    d.tsmBound = false;
    d.boundEarly = false;
  }
  for (const b of [...d.bars]) {
    const r = await kvmSetUserMemoryRegion2(m, h, {
      vmFd,
      slot: b.slot,
      flags: KVM_MEM_VFIO_DMABUF,
      guestPhysAddr: b.gpa,
      memorySize: 0n,
    });
    events.push(...r.events);
    if (!r.ok) return vmmFailed(op, args, r, events);
    d.bars = d.bars.filter((x) => x.slot !== b.slot);
  }
  const c = await vfioClose(m, h, { fd: d.vfioFd });
  events.push(...c.events);
  if (!c.ok) return vmmFailed(op, args, c, events);
  v.devices.delete(vdevId);
  return vmmOk(op, args, undefined, events);
}
