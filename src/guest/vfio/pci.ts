/**
 * The guest's vfio-pci (drivers/vfio/pci inside the confidential VM, SYSTEM.md section 1,
 * VFIO's second and third roles): the driver that takes an assigned device for a userspace
 * driver (DPDK) and what it answers that userspace through the device cdev.
 *
 * - bind / unbind: vfio-pci probes a device whose driver_override names it (role
 *   'vfio-attester' or 'vfio-user'; guest/vfio/role.ts) and lets it go; unbind blocks in
 *   Linux until userspace closes the device ("Device is currently in use"), here -EBUSY.
 * - open of /dev/vfio/devices/vfioN: only a device in RUN is handed to userspace, whoever
 *   accepted it (VFIO itself as attester, or the guest kernel for a TEE user): a device not
 *   accepted is -EPERM, since userspace would take an untrusted device for a trusted one.
 * - VFIO_DEVICE_GET_REGION_INFO and mmap of a BAR: the accepted BARs are the guest's private
 *   MMIO, which it may map for its own userspace (the host may not: invariant 1 is the host's).
 * - IOMMU_IOAS_MAP of the userspace DMA buffer: IOVA = GPA, the trusted IOMMU of the TDI
 *   translating GPAs to the VM's private memory (the flavours' trusted DMA); the buffer must
 *   be in the guest's RAM, page aligned.
 * - close: the DMA stopped (the device's descriptor cleared), mappings dropped. vfio-pci's
 *   close would also try a function reset (vfio_pci_core_disable), which takes a TDI in
 *   RUN to ERROR; a guest vfio-pci for TDISP devices must skip it, and this one does.
 *
 * A device the guest gave to vfio-pci counts as one with a driver bound (`driver`), so the
 * sysfs tsm/lock, tsm/accept and tsm/unlock refuse it as they refuse any bound device.
 */
import type { GuestMachine } from '../machine.ts';
import { fail, finish, type GuestOutcome, type Step } from '../outcome.ts';
import type { GuestDevice, GuestState } from '../state.ts';
import { roleRefusal } from './role.ts';
import {
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
} from './uapi.ts';

const PAGE = 0x1000n;
/** The guest's first device fd (0-2 are stdio); one per device, at its virtual BDF. */
const FD_BASE = 3;

const cdevPath = (vdevId: number) => `/dev/vfio/devices/vfio${vdevId}`;

/** The device, or -ENODEV. */
function deviceOf(g: GuestState, vdevId: number): Step<GuestDevice> {
  const dev = g.devices.get(vdevId);
  return dev ? { ok: true, value: dev } : fail('ENODEV', `no device ${vdevId}`);
}

/** The device vfio-pci holds and userspace has open as `fd`, or why not. */
export function openedDevice(g: GuestState, vdevId: number): Step<GuestDevice> {
  const d = deviceOf(g, vdevId);
  if (!d.ok) return d;
  if (!d.value.vfio) return fail('ENODEV', 'vfio-pci is not bound');
  if (d.value.vfio.fd === undefined) return fail('EBADF', `${cdevPath(vdevId)} is not open`);
  return d;
}

/** echo <bdf> > /sys/bus/pci/drivers/vfio-pci/bind: vfio-pci probes the device. */
export function vfioPciBind(g: GuestState, vdevId: number): GuestOutcome {
  const op = 'vfio-pci/bind';
  const args = { vdevId };
  const d = deviceOf(g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const dev = d.value;
  const mismatch = roleRefusal(dev, 'vfio-pci');
  if (mismatch) return finish(op, args, [], mismatch);
  if (dev.driver) {
    const who = dev.vfio ? 'vfio-pci' : 'another driver';
    return finish(op, args, [], fail('EBUSY', `${who} is bound`));
  }
  dev.driver = true;
  dev.vfio = { mmapped: [] };
  return finish(op, args, [], { ok: true, value: undefined });
}

/** echo <bdf> > /sys/bus/pci/drivers/vfio-pci/unbind. -EBUSY while userspace has it open. */
export function vfioPciUnbind(g: GuestState, vdevId: number): GuestOutcome {
  const op = 'vfio-pci/unbind';
  const args = { vdevId };
  const d = deviceOf(g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const dev = d.value;
  if (!dev.vfio) return finish(op, args, [], fail('ENODEV', 'vfio-pci is not bound'));
  if (dev.vfio.fd !== undefined) {
    return finish(op, args, [], fail('EBUSY', `userspace holds ${cdevPath(vdevId)}`));
  }
  dev.vfio = undefined;
  dev.driver = false;
  dev.dmaActive = false;
  return finish(op, args, [], { ok: true, value: undefined });
}

/**
 * open of the device cdev by userspace: its fd. -ENODEV vfio-pci not bound, -EBUSY open
 * already, -EPERM the device is not in RUN (not accepted yet, or unlocked).
 */
export function vfioCdevOpen(g: GuestState, vdevId: number): GuestOutcome<number> {
  const op = 'open';
  const args = { path: cdevPath(vdevId) };
  const d = deviceOf(g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const dev = d.value;
  if (!dev.vfio) return finish(op, args, [], fail('ENODEV', 'vfio-pci is not bound'));
  if (dev.vfio.fd !== undefined) {
    return finish(op, args, [], fail('EBUSY', `open as fd ${dev.vfio.fd}`));
  }
  if (dev.tsm !== 'run') {
    return finish(
      op,
      args,
      [],
      fail('EPERM', `the device is ${dev.tsm}, not accepted: userspace gets only a device in RUN`),
    );
  }
  const fd = FD_BASE + vdevId;
  dev.vfio.fd = fd;
  return finish(op, { ...args, fd }, [], { ok: true, value: fd });
}

/** VFIO_DEVICE_GET_REGION_INFO of BAR `bar`: its size and flags. -EINVAL no such BAR. */
export function vfioRegionInfo(
  g: GuestState,
  vdevId: number,
  bar: number,
): GuestOutcome<{ size: bigint; flags: number }> {
  const op = 'VFIO_DEVICE_GET_REGION_INFO';
  const args = { vdevId, index: bar };
  const d = openedDevice(g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const b = d.value.bars.find((x) => x.index === bar);
  if (!b) return finish(op, args, [], fail('EINVAL', `no BAR ${bar}`));
  const flags =
    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
  return finish(op, args, [], { ok: true, value: { size: b.size, flags } });
}

/** mmap of BAR `bar` through the fd. -EINVAL no such BAR, -EPERM the device left RUN. */
export function vfioMmapBar(g: GuestState, vdevId: number, bar: number): GuestOutcome {
  const op = 'mmap';
  const args = { vdevId, bar };
  const d = openedDevice(g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const dev = d.value;
  if (!dev.bars.some((x) => x.index === bar)) {
    return finish(op, args, [], fail('EINVAL', `no BAR ${bar}`));
  }
  if (dev.tsm !== 'run') return finish(op, args, [], fail('EPERM', `the device is ${dev.tsm}`));
  if (!dev.vfio?.mmapped.includes(bar)) dev.vfio?.mmapped.push(bar);
  return finish(op, args, [], { ok: true, value: undefined });
}

/**
 * IOMMU_IOAS_MAP of `pages` pages of userspace memory at IOVA `iova` (= GPA, FIXED_IOVA).
 * -EINVAL unaligned, empty or outside the guest's RAM, -EEXIST a buffer already mapped.
 */
export function vfioDmaMap(
  g: GuestState,
  vdevId: number,
  a: { iova: bigint; pages: number; ramPages: number },
): GuestOutcome {
  const op = 'IOMMU_IOAS_MAP';
  const flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
  const args = { vdevId, iova: `0x${a.iova.toString(16)}`, pages: a.pages, flags };
  const d = openedDevice(g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const dev = d.value;
  const end = a.iova + BigInt(a.pages) * PAGE;
  if (
    !Number.isInteger(a.pages) ||
    a.pages <= 0 ||
    a.iova < 0n ||
    a.iova % PAGE !== 0n ||
    end > BigInt(a.ramPages) * PAGE
  ) {
    return finish(op, args, [], fail('EINVAL', `${a.pages} pages at ${args.iova}`));
  }
  if (dev.vfio?.dma) return finish(op, args, [], fail('EEXIST', 'a DMA buffer is mapped'));
  if (dev.vfio) dev.vfio.dma = { iova: a.iova, pages: a.pages };
  return finish(op, args, [], { ok: true, value: undefined });
}

/**
 * close of the device fd: a DMA still programmed is stopped first (`stopDma`, the
 * descriptor cleared), then the mappings go.
 */
export async function vfioCdevClose(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  stopDma: (m: GuestMachine, g: GuestState, vdevId: number) => GuestOutcome<unknown>,
): Promise<GuestOutcome> {
  const op = 'close';
  const args = { vdevId };
  const d = openedDevice(g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const dev = d.value;
  const events = dev.dmaActive ? stopDma(m, g, vdevId).events : [];
  dev.dmaActive = false;
  if (dev.vfio) dev.vfio = { mmapped: [] };
  return finish(op, args, events, { ok: true, value: undefined });
}
