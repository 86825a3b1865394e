/**
 * The device's two boundaries (DESIGN.md "trust boundaries are folders"): what host
 * software can reach of a PCIe function (PCIe 6.x 7.2 configuration requests, 2.2 memory
 * requests to BARs; the DOE mailbox of 6.30 is config space) and what the Device Security
 * Manager drives from inside the device (PCIe 11.2). Each port is an object holding only
 * its own operations, so a host holding the host port cannot reach a DSM operation even
 * by property lookup, and its type has no such members.
 */
import type { ConfigEventRecord, FunctionSecurityView } from '../events.ts';
import type { MmioReadResult, MmioWriteResult, TeePolicy } from './datapath.ts';
import type { PciDevice } from './device.ts';
import type { DoeHandler } from './state.ts';

/** What real host software can do to the device: config cycles, BAR MMIO, bus capture. */
export interface HostPort {
  /** The bus number captured from enumeration. */
  busNumber(): number;
  configRead(fn: number, offset: number, size: number): number;
  configWrite(fn: number, offset: number, size: number, value: number): void;
  mmioRead(
    fn: number,
    bar: number,
    offset: number | bigint,
    size: number,
    opts: { t: boolean },
  ): MmioReadResult;
  mmioWrite(
    fn: number,
    bar: number,
    offset: number | bigint,
    data: Uint8Array,
    opts: { t: boolean },
  ): MmioWriteResult;
  /** A Type 0 configuration write's captured bus number (enumeration). */
  setBusNumber(bus: number): void;
}

/** What the DSM inside the device reads and drives; never handed to the host. */
export interface InternalPort {
  /** Functions that are assignable TDIs now. */
  tdis(): number[];
  hasFunction(fn: number): boolean;
  securityView(fn: number): FunctionSecurityView;
  requesterId(fn: number): number;
  /** The DSM reads its own function's capabilities (IDE for QUERY_RESP). */
  configRead(fn: number, offset: number, size: number): number;
  onSecurityEvent(cb: (record: ConfigEventRecord) => void): () => void;
  setDoeHandler(handler: DoeHandler | undefined): void;
  setTeePolicy(policy: TeePolicy | undefined): void;
  streamLeftSecure(streamId: number): void;
  scrub(fn: number): void;
  /** The device has an IDE Extended Capability. */
  readonly hasIde: boolean;
}

/** The host's port onto `device`. */
export function hostPort(device: PciDevice): HostPort {
  return Object.freeze({
    busNumber: () => device.busNumber,
    configRead: (fn, offset, size) => device.configRead(fn, offset, size),
    configWrite: (fn, offset, size, value) => device.configWrite(fn, offset, size, value),
    mmioRead: (fn, bar, offset, size, opts) => device.mmioRead(fn, bar, offset, size, opts),
    mmioWrite: (fn, bar, offset, data, opts) => device.mmioWrite(fn, bar, offset, data, opts),
    setBusNumber: (bus) => device.setBusNumber(bus),
  } satisfies HostPort);
}

/** The DSM's port onto `device`. */
export function internalPort(device: PciDevice): InternalPort {
  return Object.freeze({
    tdis: () => device.tdis(),
    hasFunction: (fn) => device.hasFunction(fn),
    securityView: (fn) => device.securityView(fn),
    requesterId: (fn) => device.requesterId(fn),
    configRead: (fn, offset, size) => device.configRead(fn, offset, size),
    onSecurityEvent: (cb) => device.onSecurityEvent(cb),
    setDoeHandler: (h) => device.setDoeHandler(h),
    setTeePolicy: (p) => device.setTeePolicy(p),
    streamLeftSecure: (id) => device.streamLeftSecure(id),
    scrub: (fn) => device.scrub(fn),
    hasIde: device.profile.dsm?.ide !== undefined,
  } satisfies InternalPort);
}
