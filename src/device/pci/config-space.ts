/**
 * One function's 4 KiB configuration space (PCIe 7.2.2) as plain data: the register bytes,
 * a per-byte mask of software-writable bits (RW) and a mask of write-one-to-clear bits
 * (RW1C), the way QEMU models it. Everything else is read-only (RO, HwInit, RsvdP).
 * Also the capability list builders and walkers (PCI 3.0 6.7, PCIe 7.6).
 */
import {
  PCI_CAP_LIST_NEXT,
  PCI_CAPABILITY_LIST,
  PCI_CFG_SPACE_EXP_SIZE,
  PCI_CFG_SPACE_SIZE,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
} from './regs.ts';

export interface ConfigSpace {
  bytes: Uint8Array;
  wmask: Uint8Array;
  w1cmask: Uint8Array;
}

export function newConfigSpace(): ConfigSpace {
  return {
    bytes: new Uint8Array(PCI_CFG_SPACE_EXP_SIZE),
    wmask: new Uint8Array(PCI_CFG_SPACE_EXP_SIZE),
    w1cmask: new Uint8Array(PCI_CFG_SPACE_EXP_SIZE),
  };
}

export function cloneConfigSpace(cs: ConfigSpace): ConfigSpace {
  return { bytes: cs.bytes.slice(), wmask: cs.wmask.slice(), w1cmask: cs.w1cmask.slice() };
}

/**
 * Checks a config access the way a TLP would carry it: 1, 2 or 4 bytes, naturally aligned,
 * inside 4 KiB. Throws RangeError otherwise (a host bug, not device input).
 */
export function checkAccess(offset: number, size: number): void {
  if (size !== 1 && size !== 2 && size !== 4) throw new RangeError(`config access size ${size}`);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > PCI_CFG_SPACE_EXP_SIZE) {
    throw new RangeError(`config offset ${offset} outside 4 KiB`);
  }
  if (offset % size !== 0) throw new RangeError(`config access ${offset}/${size} not aligned`);
}

/** Little-endian read of `size` (1-4) bytes of a byte array, as an unsigned number. */
export function rd(b: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v |= b[offset + i] << (8 * i);
  return v >>> 0;
}

/** Little-endian store of `size` (1-4) bytes (device-side: ignores the masks). */
export function wr(b: Uint8Array, offset: number, size: number, value: number): void {
  for (let i = 0; i < size; i++) b[offset + i] = (value >>> (8 * i)) & 0xff;
}

/** Sets register value and its RW / RW1C masks in one go (capability installers use it). */
export function defineReg(
  cs: ConfigSpace,
  offset: number,
  size: number,
  value: number,
  rw = 0,
  w1c = 0,
): void {
  wr(cs.bytes, offset, size, value);
  wr(cs.wmask, offset, size, rw);
  wr(cs.w1cmask, offset, size, w1c);
}

/** A host write through the masks: RW bits take the new value, RW1C bits clear on 1. */
export function maskedWrite(cs: ConfigSpace, offset: number, size: number, value: number): void {
  for (let i = 0; i < size; i++) {
    const o = offset + i;
    const b = (value >>> (8 * i)) & 0xff;
    const wm = cs.wmask[o];
    let n = (cs.bytes[o] & ~wm) | (b & wm);
    n &= ~(b & cs.w1cmask[o]);
    cs.bytes[o] = n & 0xff;
  }
}

/** Allocates capabilities and links the two lists as it goes. */
export class CapAllocator {
  private nextStd = 0x40;
  private lastStd = -1;
  private nextExt = PCI_CFG_SPACE_SIZE;
  private lastExt = -1;

  constructor(private readonly cs: ConfigSpace) {}

  /** Adds a standard capability of `size` bytes; returns its offset. Throws RangeError when full. */
  addStd(id: number, size: number): number {
    const off = this.nextStd;
    if (off + size > PCI_CFG_SPACE_SIZE)
      throw new RangeError('standard capabilities exceed 256 bytes');
    this.cs.bytes[off] = id;
    this.cs.bytes[off + PCI_CAP_LIST_NEXT] = 0;
    if (this.lastStd < 0) {
      this.cs.bytes[PCI_CAPABILITY_LIST] = off;
      wr(this.cs.bytes, PCI_STATUS, 2, rd(this.cs.bytes, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
    } else {
      this.cs.bytes[this.lastStd + PCI_CAP_LIST_NEXT] = off;
    }
    this.lastStd = off;
    this.nextStd = (off + size + 3) & ~3;
    return off;
  }

  /** Adds an extended capability; returns its offset. Throws RangeError past 4 KiB. */
  addExt(id: number, version: number, size: number): number {
    const off = this.nextExt;
    if (off + size > PCI_CFG_SPACE_EXP_SIZE) {
      throw new RangeError('extended capabilities exceed 4 KiB');
    }
    wr(this.cs.bytes, off, 4, id | (version << 16));
    if (this.lastExt >= 0) {
      const h = rd(this.cs.bytes, this.lastExt, 4);
      wr(this.cs.bytes, this.lastExt, 4, (h & 0xfffff) | (off << 20));
    }
    this.lastExt = off;
    this.nextExt = (off + size + 3) & ~3;
    return off;
  }
}

export interface CapEntry {
  id: number;
  offset: number;
  version?: number;
}

type ConfigReader = (offset: number, size: number) => number;

/**
 * Walks the standard capability list the way a host does (Status.Capabilities List, then
 * pointers from 0x34, low two bits ignored), stopping on loops. Works over any reader,
 * so tests and the host model walk the live device.
 */
export function walkCapabilities(read: ConfigReader): CapEntry[] {
  const out: CapEntry[] = [];
  if (!(read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) return out;
  let off = read(PCI_CAPABILITY_LIST, 1) & 0xfc;
  const seen = new Set<number>();
  while (off >= 0x40 && !seen.has(off)) {
    seen.add(off);
    out.push({ id: read(off, 1), offset: off });
    off = read(off + PCI_CAP_LIST_NEXT, 1) & 0xfc;
  }
  return out;
}

/** Walks the extended capability list from 0x100 (PCIe 7.6.3), stopping on loops. */
export function walkExtCapabilities(read: ConfigReader): CapEntry[] {
  const out: CapEntry[] = [];
  let off = PCI_CFG_SPACE_SIZE;
  const seen = new Set<number>();
  while (off >= PCI_CFG_SPACE_SIZE && !seen.has(off)) {
    seen.add(off);
    const h = read(off, 4);
    if (h === 0 || h === 0xffffffff) break;
    out.push({ id: h & 0xffff, version: (h >>> 16) & 0xf, offset: off });
    off = (h >>> 20) & 0xffc;
  }
  return out;
}
