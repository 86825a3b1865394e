/**
 * VFIO_DEVICE_FEATURE with VFIO_DEVICE_FEATURE_DMA_BUF (feature 11, GET; vfio_pci_dmabuf.c):
 * exports ranges of one BAR as a dma-buf, struct vfio_device_feature_dma_buf {region_index,
 * open_flags, flags, nr_ranges, dma_ranges[]}. The buffer of a TSM-bound device is private
 * (no mmap, KVM only); one exported while memory is disabled starts revoked, as the kernel does.
 */
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import { allocFd, type HostState } from '../state.ts';
import { vfioDeviceOf } from './device.ts';
import {
  VFIO_DEVICE_FEATURE_DMA_BUF,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MASK,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_PCI_ROM_REGION_INDEX,
} from './uapi.ts';

/** open_flags the dma-buf file may get (O_RDWR | O_CLOEXEC, as dma_buf_export allows). */
export const O_RDWR = 0o2;
export const O_CLOEXEC = 0o2000000;
const PAGE_MASK = 0xfffn;

export interface DmaBufExportArgs {
  fd: number;
  /** VFIO_DEVICE_FEATURE flags: the feature index and the direction. */
  featureFlags: number;
  regionIndex: number;
  openFlags: number;
  /** struct vfio_device_feature_dma_buf.flags: must be 0. */
  flags: number;
  /** dma_ranges[]: offset into the BAR and length. */
  ranges: { offset: bigint; length: bigint }[];
}

/**
 * The export: a new dma-buf fd. -EBADF not a device fd; -ENOTTY another feature; -EINVAL a
 * direction other than GET, open_flags beyond O_RDWR|O_CLOEXEC, flags set, zero ranges, an
 * empty, unaligned or out-of-BAR range; -ENODEV the ROM index or beyond; -EOPNOTSUPP a BAR the
 * function does not implement (no p2pdma provider to export from).
 */
export function vfioDeviceFeatureDmaBuf(
  m: HostMachine,
  h: HostState,
  a: DmaBufExportArgs,
): HostOutcome<number> {
  const op = 'VFIO_DEVICE_FEATURE_DMA_BUF';
  const args = {
    fd: a.fd,
    featureFlags: a.featureFlags,
    region_index: a.regionIndex,
    open_flags: a.openFlags,
    flags: a.flags,
    nr_ranges: a.ranges.length,
  };
  const refuse = (errno: Parameters<typeof hostErr>[3], detail: string) =>
    hostErr('vfio', op, args, errno, detail);
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return refuse('EBADF', `fd ${a.fd} is not a VFIO device`);
  if ((a.featureFlags & VFIO_DEVICE_FEATURE_MASK) !== VFIO_DEVICE_FEATURE_DMA_BUF) {
    return refuse('ENOTTY', `feature ${a.featureFlags & VFIO_DEVICE_FEATURE_MASK}`);
  }
  const dir = a.featureFlags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET);
  if (dir !== VFIO_DEVICE_FEATURE_GET || a.featureFlags & VFIO_DEVICE_FEATURE_PROBE) {
    return refuse('EINVAL', 'the dma-buf feature is GET only');
  }
  if (a.openFlags & ~(O_RDWR | O_CLOEXEC)) return refuse('EINVAL', 'open_flags');
  if (a.flags !== 0) return refuse('EINVAL', 'flags must be 0');
  if (a.ranges.length === 0) return refuse('EINVAL', 'nr_ranges is 0');
  if (a.regionIndex < 0 || a.regionIndex >= VFIO_PCI_ROM_REGION_INDEX) {
    return refuse('ENODEV', `region ${a.regionIndex} is not a BAR`);
  }
  const bar = m.barAddress(d.rid, a.regionIndex);
  if (!bar) return refuse('EOPNOTSUPP', `BAR ${a.regionIndex} is not implemented`);
  for (const r of a.ranges) {
    if (r.length <= 0n || (r.offset | r.length) & PAGE_MASK || r.offset < 0n) {
      return refuse('EINVAL', `range 0x${r.offset.toString(16)}+0x${r.length.toString(16)}`);
    }
    if (r.offset + r.length > bar.size) {
      return refuse('EINVAL', `range past BAR ${a.regionIndex}'s 0x${bar.size.toString(16)}`);
    }
  }
  const fd = allocFd(h);
  h.dmaBufs.bufs.set(fd, {
    fd,
    vfioFd: d.fd,
    rid: d.rid,
    bar: a.regionIndex,
    ranges: a.ranges.map((r) => ({ address: bar.base + r.offset, length: r.length })),
    private: d.tsmBound !== undefined,
    state: d.memoryEnabled && d.power === 'D0' ? 'live' : 'revoked',
    importers: [],
  });
  d.dmaBufs.push(fd);
  return hostOk('vfio', op, { ...args, dmabuf: fd }, fd);
}
