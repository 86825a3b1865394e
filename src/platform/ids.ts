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

/** Page frame number of an address (host physical, guest physical or I/O virtual). */
export const pfnOf = (address: bigint): bigint => address >> PAGE_SHIFT;

/** Byte offset of an address inside its page. */
export const pageOffset = (address: bigint): number => Number(address & OFFSET_MASK);

/** The address of byte `offset` of page `pfn`. */
export const addressOf = (pfn: bigint, offset = 0): bigint => (pfn << PAGE_SHIFT) + BigInt(offset);

/** The PCI bus number of a requester id (which device on the bus map answers it). */
export const busOf = (rid: Rid): number => rid >>> 8;
