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
import { done, type OpResult, type Outcome, refuse } from './result.ts';

export type PageOwner = { kind: 'shared' } | { kind: 'private'; vm: VmId } | { kind: 'firmware' };

export interface MemoryState {
  /** Every page of host memory (by host page frame number, a number key: ids.ts Pfn) and its one owner. */
  pages: Map<Pfn, PageOwner>;
  /** Contents of the pages that are not all zero. */
  data: Map<Pfn, Uint8Array>;
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
  const pages = new Map<Pfn, PageOwner>();
  for (const r of ranges) {
    if (pageOffset(r.base) !== 0 || pageOffset(r.size) !== 0 || r.size <= 0n) {
      throw new RangeError(
        `memory range 0x${r.base.toString(16)}+0x${r.size.toString(16)} is not page aligned`,
      );
    }
    for (let p = pfnKey(pfnOf(r.base)); p < pfnKey(pfnOf(r.base + r.size)); p++) {
      if (pages.has(p)) throw new RangeError(`memory ranges overlap at page 0x${p.toString(16)}`);
      pages.set(p, { kind: 'shared' });
    }
  }
  return { pages, data: new Map() };
}

export function ownerOf(mem: MemoryState, hpfn: bigint): PageOwner | undefined {
  return mem.pages.get(pfnKey(hpfn));
}

function describe(o: PageOwner): string {
  return o.kind === 'private' ? `private to ${o.vm}` : o.kind;
}

/** The refusal for converting a page that is not shared, or undefined when it is shared. */
function notShared(op: string, mem: MemoryState, hpfn: bigint) {
  const o = mem.pages.get(pfnKey(hpfn));
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
  mem.pages.set(pfnKey(hpfn), owner);
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
  mem.pages.set(pfnKey(hpfn), owner);
  mem.data.delete(pfnKey(hpfn));
  return done({}, { kind: 'memory', op: 'assign-firmware', hpfn, owner, scrubbed: true });
}

/** private -> shared, scrubbed first: the guest's bytes never become host-readable. */
export function releaseToShared(
  mem: MemoryState,
  hpfn: bigint,
): Outcome<OpResult<object, MemoryError>> {
  const op = 'release-to-shared';
  const key = pfnKey(hpfn);
  const o = mem.pages.get(key);
  const at = `page 0x${hpfn.toString(16)}`;
  if (!o) return refuse<MemoryError>(op, 'EFAULT', `${at} is not host memory`);
  if (o.kind !== 'private')
    return refuse<MemoryError>(
      op,
      o.kind === 'firmware' ? 'EPERM' : 'EINVAL',
      `${at} is ${describe(o)}, not private`,
    );
  mem.data.delete(key);
  mem.pages.set(key, { kind: 'shared' });
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
  let page = mem.data.get(hpfn);
  if (page === undefined) {
    if (isZero(data)) return;
    page = new Uint8Array(PAGE_SIZE);
    mem.data.set(hpfn, page);
    page.set(data, offset);
    return;
  }
  page.set(data, offset);
  if (data.length > 0 && data[0] === 0 && isZero(data) && isZero(page)) mem.data.delete(hpfn);
}

/** `length` bytes of page `hpfn` from `offset` (the caller checked ownership and bounds). */
export function readPage(mem: MemoryState, hpfn: Pfn, offset: number, length: number): Uint8Array {
  const page = mem.data.get(hpfn);
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
    if (!mem.pages.has(pfn)) throw new RangeError(`page 0x${pfn.toString(16)} is not host memory`);
    const page = mem.data.get(pfn);
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
    if (!mem.pages.has(pfn)) throw new RangeError(`page 0x${pfn.toString(16)} is not host memory`);
  });
  forEachPage(address, data.length, (pfn, off, d, n) =>
    writePage(mem, pfn, off, data.subarray(d, d + n)),
  );
}
