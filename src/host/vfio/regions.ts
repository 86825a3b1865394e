/**
 * vfio-pci regions (vfio_pci_core.c, vfio_pci_rdwr.c): VFIO_DEVICE_GET_REGION_INFO, reads and
 * writes of a BAR through the device fd (T=0 accesses through the fabric), and mmap of a BAR.
 * A claimed device's BARs are private (the TEE-IO RFC): their info reports only
 * VFIO_REGION_INFO_FLAG_PRIVATE, and read, write and mmap are -EINVAL (invariant 1).
 */
import type { HostMachine } from '../machine.ts';
import { type HostOutcome, hostErr, hostOk } from '../outcome.ts';
import type { HostState } from '../state.ts';
import { vfioDeviceOf } from './device.ts';
import type { VfioDevice } from './state.ts';
import {
  VFIO_PCI_BAR5_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_NUM_REGIONS,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_PRIVATE,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
} from './uapi.ts';

export interface RegionInfo {
  index: number;
  flags: number;
  size: bigint;
  /** Where the region is in the device fd (VFIO_PCI_INDEX_TO_OFFSET: index << 40). */
  offset: bigint;
}

/**
 * VFIO_DEVICE_GET_REGION_INFO. -EBADF, -EINVAL for an index past VFIO_PCI_NUM_REGIONS. A BAR
 * the function does not implement has size 0 and no flags.
 */
export function vfioDeviceGetRegionInfo(
  m: HostMachine,
  h: HostState,
  a: { fd: number; index: number },
): HostOutcome<RegionInfo> {
  const op = 'VFIO_DEVICE_GET_REGION_INFO';
  const args = { fd: a.fd, index: a.index };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  if (!Number.isInteger(a.index) || a.index < 0 || a.index >= VFIO_PCI_NUM_REGIONS) {
    return hostErr('vfio', op, args, 'EINVAL', `no region ${a.index}`);
  }
  const offset = BigInt(a.index) << 40n;
  const rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
  let info: RegionInfo = { index: a.index, flags: 0, size: 0n, offset };
  if (a.index === VFIO_PCI_CONFIG_REGION_INDEX) info = { ...info, flags: rw, size: 4096n };
  if (a.index <= VFIO_PCI_BAR5_REGION_INDEX) {
    const bar = m.barAddress(d.rid, a.index);
    if (bar) {
      const flags = d.claimed ? VFIO_REGION_INFO_FLAG_PRIVATE : rw | VFIO_REGION_INFO_FLAG_MMAP;
      info = { ...info, flags, size: bar.size };
    }
  }
  return hostOk('vfio', op, args, info);
}

/** The bus address range of BAR `bar` for a host access, or why not (-EINVAL). */
function hostBar(
  m: HostMachine,
  d: VfioDevice,
  bar: number,
  offset: bigint,
  length: bigint,
): { base: bigint; size: bigint } | string {
  if (bar < 0 || bar > VFIO_PCI_BAR5_REGION_INDEX) return `region ${bar} is not a BAR`;
  const b = m.barAddress(d.rid, bar);
  if (!b) return `BAR ${bar} is not implemented`;
  if (d.claimed) return `BAR ${bar} is private`;
  if (offset < 0n || length <= 0n || offset + length > b.size) {
    return `0x${offset.toString(16)}+0x${length.toString(16)} is outside BAR ${bar}`;
  }
  return b;
}

/** pread on a BAR region: T=0 read through the fabric. -EBADF, -EINVAL private or out of range, -EIO on an error completion. */
export function vfioBarRead(
  m: HostMachine,
  h: HostState,
  a: { fd: number; bar: number; offset: bigint; size: 1 | 2 | 4 | 8 },
): HostOutcome<Uint8Array> {
  const op = 'VFIO_PCI_BAR read';
  const args = { fd: a.fd, bar: a.bar, offset: a.offset, size: a.size };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  const b = hostBar(m, d, a.bar, a.offset, BigInt(a.size));
  if (typeof b === 'string') return hostErr('vfio', op, args, 'EINVAL', b);
  const r = m.mmioRead(b.base + a.offset, a.size);
  if (r.result.status !== 'SC') {
    return hostErr('vfio', op, args, 'EIO', `completion ${r.result.status}`, r.events);
  }
  return hostOk('vfio', op, args, r.result.data, r.events);
}

/** pwrite on a BAR region: T=0 write through the fabric. -EBADF, -EINVAL private or out of range, -EIO. */
export function vfioBarWrite(
  m: HostMachine,
  h: HostState,
  a: { fd: number; bar: number; offset: bigint; data: Uint8Array },
): HostOutcome {
  const op = 'VFIO_PCI_BAR write';
  const args = { fd: a.fd, bar: a.bar, offset: a.offset, size: a.data.length };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  const b = hostBar(m, d, a.bar, a.offset, BigInt(a.data.length));
  if (typeof b === 'string') return hostErr('vfio', op, args, 'EINVAL', b);
  const r = m.mmioWrite(b.base + a.offset, a.data);
  if (r.result.status !== 'SC') {
    return hostErr('vfio', op, args, 'EIO', `completion ${r.result.status}`, r.events);
  }
  return hostOk('vfio', op, args, undefined, r.events);
}

/**
 * mmap of a whole BAR into the VMM: the bus address range the CPU mapping covers. -EBADF,
 * -EINVAL for a private BAR, a region that is no BAR, or one not implemented.
 */
export function vfioMmap(
  m: HostMachine,
  h: HostState,
  a: { fd: number; bar: number },
): HostOutcome<{ base: bigint; size: bigint }> {
  const op = 'mmap';
  const args = { fd: a.fd, bar: a.bar };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  const size = m.barAddress(d.rid, a.bar)?.size ?? 1n;
  const b = hostBar(m, d, a.bar, 0n, size);
  if (typeof b === 'string') return hostErr('vfio', op, args, 'EINVAL', b);
  if (!d.mmapped.includes(a.bar)) d.mmapped.push(a.bar);
  return hostOk('vfio', op, args, { ...b });
}

/** munmap of a BAR mapping. -EBADF, -EINVAL when the BAR is not mapped. */
export function vfioMunmap(
  _m: HostMachine,
  h: HostState,
  a: { fd: number; bar: number },
): HostOutcome {
  const op = 'munmap';
  const args = { fd: a.fd, bar: a.bar };
  const d = vfioDeviceOf(h, a.fd);
  if (!d) return hostErr('vfio', op, args, 'EBADF', `fd ${a.fd} is not a VFIO device`);
  if (!d.mmapped.includes(a.bar)) {
    return hostErr('vfio', op, args, 'EINVAL', `BAR ${a.bar} is not mapped`);
  }
  d.mmapped = d.mmapped.filter((b) => b !== a.bar);
  return hostOk('vfio', op, args, undefined);
}
