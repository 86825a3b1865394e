/**
 * Identifiers and page arithmetic shared by the platform hardware (SYSTEM.md section 3):
 * confidential VMs by name, PCIe requester ids (Bus/Device/Function routing ids, PCIe 2.2.6.2),
 * and 4 KiB pages, the granule of host memory ownership, of the secure EPT and of the IOMMU.
 */

/** A confidential VM (TD, SNP guest, realm) as the platform names it. */
export type VmId = string;

/** A PCIe requester id: bus << 8 | device << 3 | function (ARI: bus << 8 | function). */
export type Rid = number;

export const PAGE_SHIFT = 12n;
export const PAGE_SIZE = 4096;
const OFFSET_MASK = 0xfffn;

/**
 * A page frame number as the platform's tables key it. The ABIs carry frames as bigint; inside,
 * every Map is keyed by number because V8 hashes BigInt keys poorly (a lookup among 16 Ki BigInt
 * keys costs about 1 us, a number key about 0.1 us). Frames of 64-bit addresses are below 2^52,
 * so the number is exact.
 */
export type Pfn = number;

/** Page frame number of an address (host physical, guest physical or I/O virtual). */
export const pfnOf = (address: bigint): bigint => address >> PAGE_SHIFT;

/** The table key of frame `pfn` (an ABI bigint). */
export const pfnKey = (pfn: bigint): Pfn => Number(pfn);

/**
 * The table key of the frame holding `address`. Addresses below 2^53 (every one the model
 * builds by default) take number arithmetic: no BigInt is allocated on the per-access path.
 */
export function pfnKeyOf(address: bigint): Pfn {
  const n = Number(address);
  return n >= 0 && n <= Number.MAX_SAFE_INTEGER
    ? Math.floor(n / PAGE_SIZE)
    : Number(address >> PAGE_SHIFT);
}

/** Byte offset of an address inside its page. */
export function pageOffset(address: bigint): number {
  const n = Number(address);
  // Subtraction, not %: a double's remainder is a slow fmod.
  return n >= 0 && n <= Number.MAX_SAFE_INTEGER
    ? n - Math.floor(n / PAGE_SIZE) * PAGE_SIZE
    : Number(address & OFFSET_MASK);
}

/** The address of byte `offset` of page `pfn`. */
export const addressOf = (pfn: bigint, offset = 0): bigint => (pfn << PAGE_SHIFT) + BigInt(offset);

/** The PCI bus number of a requester id (which device on the bus map answers it). */
export const busOf = (rid: Rid): number => rid >>> 8;
