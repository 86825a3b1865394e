/**
 * Host physical memory with one owner per 4 KiB page (SYSTEM.md section 3: TDX's PAMT, AMD's
 * RMP, Arm's granule protection table all keep this fact): shared (the host's), private to one
 * confidential VM, or the firmware's. Conversions follow the rule every vendor enforces: a page
 * becomes private only from shared, and a private page goes back to shared only scrubbed
 * (TDH.PHYMEM.PAGE.WBINVD + zeroing, RMPUPDATE after the guest's data is gone), so no guest
 * data is left where the host can read it.
 *
 * Contents are sparse and canonical: `data` holds only pages with a non-zero byte, so equal
 * memories are equal Maps however they were written (world/hash.ts). Errors are errno names
 * as the kernel's conversion paths report them: EFAULT no such page, EBUSY owned by a VM,
 * EPERM the firmware's, EINVAL not in the state the conversion starts from.
 */

import { PAGE_SIZE, type Pfn, pageOffset, pfnKey, pfnKeyOf, pfnOf, type VmId } from './ids.ts';
import { type PfnTable, pfnTable } from './pfn-table.ts';
import { done, type OpResult, type Outcome, refuse } from './result.ts';

export type PageOwner = { kind: 'shared' } | PrivateOwner;
export type PrivateOwner = { kind: 'private'; vm: VmId } | { kind: 'firmware' };

const SHARED: PageOwner = Object.freeze({ kind: 'shared' });

export interface MemoryState {
  /** Host memory as page frame ranges [first, end) (ids.ts Pfn number keys). */
  ranges: { first: Pfn; end: Pfn }[];
  /**
   * The owner of every page that is not shared. Shared is the default and is not stored, so a
   * world's memory record (cloned, hashed by the explorer at every step) grows with what the
   * guests and the firmware own, not with the size of memory.
   */
  owners: PfnTable<PrivateOwner>;
  /** Contents of the pages that are not all zero. */
  data: PfnTable<Uint8Array>;
}

/** A range of host physical memory, page aligned; its pages start shared. */
export interface MemoryRange {
  base: bigint;
  size: bigint;
}

export type MemoryError = 'EFAULT' | 'EBUSY' | 'EPERM' | 'EINVAL';

/**
 * Memory made of `ranges`, every page shared and zero.
 * @throws RangeError for a range that is not page aligned or overlaps another (configuration).
 */
export function createMemory(ranges: readonly MemoryRange[]): MemoryState {
  const out: MemoryState['ranges'] = [];
  for (const r of ranges) {
    if (pageOffset(r.base) !== 0 || pageOffset(r.size) !== 0 || r.size <= 0n) {
      throw new RangeError(
        `memory range 0x${r.base.toString(16)}+0x${r.size.toString(16)} is not page aligned`,
      );
    }
    const first = pfnKey(pfnOf(r.base));
    const end = pfnKey(pfnOf(r.base + r.size));
    const o = out.find((x) => first < x.end && x.first < end);
    if (o) {
      throw new RangeError(
        `memory ranges overlap at page 0x${Math.max(first, o.first).toString(16)}`,
      );
    }
    out.push({ first, end });
  }
  return { ranges: out, owners: pfnTable(), data: pfnTable() };
}

/** Whether page `pfn` is host memory. */
export function isMemory(mem: MemoryState, pfn: Pfn): boolean {
  for (const r of mem.ranges) if (pfn >= r.first && pfn < r.end) return true;
  return false;
}

/** The owner of page `pfn`; undefined when it is not host memory. */
export function pageOwner(mem: MemoryState, pfn: Pfn): PageOwner | undefined {
  return mem.owners[pfn] ?? (isMemory(mem, pfn) ? SHARED : undefined);
}

/** Gives page `pfn` (host memory) to `owner`. */
export function setPageOwner(mem: MemoryState, pfn: Pfn, owner: PageOwner): void {
  if (owner.kind === 'shared') delete mem.owners[pfn];
  else mem.owners[pfn] = owner;
}

/** Number of pages of host memory. */
export function memoryPages(mem: MemoryState): number {
  return mem.ranges.reduce((n, r) => n + r.end - r.first, 0);
}

export function ownerOf(mem: MemoryState, hpfn: bigint): PageOwner | undefined {
  return pageOwner(mem, pfnKey(hpfn));
}

function describe(o: PageOwner): string {
  return o.kind === 'private' ? `private to ${o.vm}` : o.kind;
}

/** The refusal for converting a page that is not shared, or undefined when it is shared. */
function notShared(op: string, mem: MemoryState, hpfn: bigint) {
  const o = pageOwner(mem, pfnKey(hpfn));
  const at = `page 0x${hpfn.toString(16)}`;
  if (!o) return refuse<MemoryError>(op, 'EFAULT', `${at} is not host memory`);
  if (o.kind === 'private') return refuse<MemoryError>(op, 'EBUSY', `${at} is ${describe(o)}`);
  if (o.kind === 'firmware') return refuse<MemoryError>(op, 'EPERM', `${at} is the firmware's`);
  return undefined;
}

/** shared -> private to `vm` (the page joins the VM's private memory, e.g. before PAGE.AUG). */
export function assignPrivate(
  mem: MemoryState,
  hpfn: bigint,
  vm: VmId,
): Outcome<OpResult<object, MemoryError>> {
  const refused = notShared('assign-private', mem, hpfn);
  if (refused) return refused;
  const owner: PageOwner = { kind: 'private', vm };
  setPageOwner(mem, pfnKey(hpfn), owner);
  return done({}, { kind: 'memory', op: 'assign-private', hpfn, owner });
}

/** shared -> the firmware's (TDX control structures, the RMM's granules); the page is scrubbed. */
export function assignFirmware(
  mem: MemoryState,
  hpfn: bigint,
): Outcome<OpResult<object, MemoryError>> {
  const refused = notShared('assign-firmware', mem, hpfn);
  if (refused) return refused;
  const owner: PageOwner = { kind: 'firmware' };
  setPageOwner(mem, pfnKey(hpfn), owner);
  delete mem.data[pfnKey(hpfn)];
  return done({}, { kind: 'memory', op: 'assign-firmware', hpfn, owner, scrubbed: true });
}

/** private -> shared, scrubbed first: the guest's bytes never become host-readable. */
export function releaseToShared(
  mem: MemoryState,
  hpfn: bigint,
): Outcome<OpResult<object, MemoryError>> {
  const op = 'release-to-shared';
  const key = pfnKey(hpfn);
  const o = pageOwner(mem, key);
  const at = `page 0x${hpfn.toString(16)}`;
  if (!o) return refuse<MemoryError>(op, 'EFAULT', `${at} is not host memory`);
  if (o.kind !== 'private')
    return refuse<MemoryError>(
      op,
      o.kind === 'firmware' ? 'EPERM' : 'EINVAL',
      `${at} is ${describe(o)}, not private`,
    );
  delete mem.data[key];
  setPageOwner(mem, key, SHARED);
  return done({}, { kind: 'memory', op, hpfn, owner: { kind: 'shared' }, scrubbed: true });
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Writes `data` into page `hpfn` at `offset` (the caller checked ownership and bounds): the
 * page is allocated on its first non-zero byte and dropped when a write leaves it all zero.
 */
export function writePage(mem: MemoryState, hpfn: Pfn, offset: number, data: Uint8Array): void {
  let page = mem.data[hpfn];
  if (page === undefined) {
    if (isZero(data)) return;
    page = new Uint8Array(PAGE_SIZE);
    mem.data[hpfn] = page;
    page.set(data, offset);
    return;
  }
  page.set(data, offset);
  if (data.length > 0 && data[0] === 0 && isZero(data) && isZero(page)) delete mem.data[hpfn];
}

/** `length` bytes of page `hpfn` from `offset` (the caller checked ownership and bounds). */
export function readPage(mem: MemoryState, hpfn: Pfn, offset: number, length: number): Uint8Array {
  const page = mem.data[hpfn];
  return page === undefined ? new Uint8Array(length) : page.slice(offset, offset + length);
}

/** Calls `fn` for each page-sized piece of [address, address + length). */
export function forEachPage(
  address: bigint,
  length: number,
  fn: (pfn: Pfn, offset: number, done: number, n: number) => void,
): void {
  let pfn = pfnKeyOf(address);
  let off = pageOffset(address);
  for (let d = 0; d < length; pfn++, off = 0) {
    const n = Math.min(length - d, PAGE_SIZE - off);
    fn(pfn, off, d, n);
    d += n;
  }
}

/**
 * Raw physical read, for use only after the owner checks (firmware, the fabric).
 * @throws RangeError when a page is not host memory (a model bug: checks come first).
 */
export function readPhys(mem: MemoryState, address: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  forEachPage(address, length, (pfn, off, d, n) => {
    if (!isMemory(mem, pfn)) throw new RangeError(`page 0x${pfn.toString(16)} is not host memory`);
    const page = mem.data[pfn];
    if (page) out.set(page.subarray(off, off + n), d);
  });
  return out;
}

/**
 * Raw physical write, for use only after the owner checks.
 * @throws RangeError when a page is not host memory (a model bug: checks come first).
 */
export function writePhys(mem: MemoryState, address: bigint, data: Uint8Array): void {
  forEachPage(address, data.length, (pfn) => {
    if (!isMemory(mem, pfn)) throw new RangeError(`page 0x${pfn.toString(16)} is not host memory`);
  });
  forEachPage(address, data.length, (pfn, off, d, n) =>
    writePage(mem, pfn, off, data.subarray(d, d + n)),
  );
}
