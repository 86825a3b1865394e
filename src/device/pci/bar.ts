/**
 * Base Address Registers (PCIe 7.5.1.2.1, SR-IOV VF BARs 9.3.3.14) and the Expansion ROM
 * BAR (7.5.1.2.4). Sizing falls out of the write masks: only address bits at or above the
 * size are writable, so writing all-ones reads back the size mask plus the read-only type
 * bits, exactly what a host's sizing sequence expects.
 */
import type { BarView } from '../events.ts';
import { type ConfigSpace, defineReg, rd } from './config-space.ts';
import type { BarProfile } from './profile.ts';
import {
  PCI_BASE_ADDRESS_IO_MASK,
  PCI_BASE_ADDRESS_MEM_MASK,
  PCI_BASE_ADDRESS_MEM_PREFETCH,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_BASE_ADDRESS_SPACE_IO,
  PCI_ROM_ADDRESS_ENABLE,
  PCI_ROM_ADDRESS_MASK,
} from './regs.ts';

/** A BAR as built: its current size (Resizable BAR may change it) and type. */
export interface BarState {
  size: bigint;
  is64: boolean;
  prefetchable: boolean;
  io: boolean;
}

export type BarTable = Array<BarState | undefined>;

export function barTable(bars: BarProfile[]): BarTable {
  const t: BarTable = [undefined, undefined, undefined, undefined, undefined, undefined];
  for (const b of bars) {
    t[b.index] = {
      size: b.size,
      is64: !!b.is64,
      prefetchable: !!b.prefetchable,
      io: !!b.io,
    };
  }
  return t;
}

const lo32 = (v: bigint): number => Number(v & 0xffff_ffffn);
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffff_ffffn);

/**
 * Writes the type bits and write masks of BAR `index` in the register array at `base`
 * (0x10 for a function, the SR-IOV capability's VF BAR0 for VFs), keeping the address
 * bits the new size still allows.
 */
export function defineBar(cs: ConfigSpace, base: number, index: number, bar: BarState): void {
  const off = base + index * 4;
  const addrMask = ~(bar.size - 1n) & 0xffff_ffff_ffff_ffffn;
  if (bar.io) {
    const mask = lo32(addrMask) & PCI_BASE_ADDRESS_IO_MASK;
    defineReg(cs, off, 4, ((rd(cs.bytes, off, 4) & mask) | PCI_BASE_ADDRESS_SPACE_IO) >>> 0, mask);
    return;
  }
  const type =
    (bar.is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
    (bar.prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
  const loMask = (lo32(addrMask) & PCI_BASE_ADDRESS_MEM_MASK) >>> 0;
  defineReg(cs, off, 4, ((rd(cs.bytes, off, 4) & loMask) | type) >>> 0, loMask);
  if (bar.is64) {
    const hiMask = hi32(addrMask);
    defineReg(cs, off + 4, 4, (rd(cs.bytes, off + 4, 4) & hiMask) >>> 0, hiMask);
  }
}

/** Programs every BAR of a table (unimplemented ones stay hardwired to zero). */
export function defineBars(cs: ConfigSpace, base: number, bars: BarTable): void {
  bars.forEach((b, i) => {
    if (b) defineBar(cs, base, i, b);
  });
}

/** The address currently programmed into BAR `index`. */
export function barAddress(bytes: Uint8Array, base: number, index: number, bar: BarState): bigint {
  const off = base + index * 4;
  if (bar.io) return BigInt((rd(bytes, off, 4) & PCI_BASE_ADDRESS_IO_MASK) >>> 0);
  const lo = BigInt((rd(bytes, off, 4) & PCI_BASE_ADDRESS_MEM_MASK) >>> 0);
  if (!bar.is64) return lo;
  return (BigInt(rd(bytes, off + 4, 4)) << 32n) | lo;
}

/**
 * Which logical BAR a register slot belongs to: the upper half of a 64-bit BAR maps to
 * its lower index. Undefined for a slot no BAR implements.
 */
export function barOfSlot(bars: BarTable, slot: number): number | undefined {
  if (bars[slot]) return slot;
  if (slot > 0 && bars[slot - 1]?.is64) return slot - 1;
  return undefined;
}

export function barView(index: number, address: bigint, bar: BarState): BarView {
  return {
    index,
    address,
    size: bar.size,
    is64: bar.is64,
    prefetchable: bar.prefetchable,
    memory: !bar.io,
  };
}

/** Expansion ROM BAR: address bits above the size writable, plus the enable bit. */
export function defineRom(cs: ConfigSpace, off: number, size: bigint): void {
  const mask =
    ((lo32(~(size - 1n) & 0xffff_ffffn) & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE) >>> 0;
  defineReg(cs, off, 4, 0, mask);
}
