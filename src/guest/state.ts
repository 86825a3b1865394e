/**
 * The confidential guest's own records (DESIGN.md principle 2): the devices its VMM gave it
 * and, for each, what its devsec TSM did (Linux's guest PCI/TSM: tsm/lock, tsm/accept,
 * tsm/unlock), what its attester verified, and whether a driver holds it. Plain data that
 * survives structuredClone; nonces come from a seeded counter so a run replays.
 */
import { digest } from '../crypto/hash.ts';
import type { InterfaceId } from '../wire/tdisp/header.ts';
import type { AssignedBar } from '../wire/tdisp/report-ranges.ts';
import type { AttestationEvidence } from './attest/evidence.ts';

/**
 * Who takes an assigned device to RUN inside the guest and who uses it (SYSTEM.md section 1,
 * VFIO's roles): 'guest-kernel' the kernel's devsec TSM (sysfs tsm/) and a kernel driver;
 * 'vfio-attester' the guest's vfio-pci attests and accepts, then hands the device to
 * userspace; 'vfio-user' the kernel's devsec TSM takes it to RUN, vfio-pci only passes it on.
 */
export type GuestRole = 'guest-kernel' | 'vfio-attester' | 'vfio-user';

/** What guest VFIO (vfio-pci bound, guest/vfio/) holds of a device for its userspace. */
export interface GuestVfioDevice {
  /** The userspace fd of /dev/vfio/devices/vfioN, while open. */
  fd?: number;
  /** BAR indexes userspace has mmapped through the fd. */
  mmapped: number[];
  /** The userspace DMA buffer mapped with IOMMU_IOAS_MAP (IOVA = GPA), if any. */
  dma?: { iova: bigint; pages: number };
}

/** The TSM's view of one device, as the guest's devsec TSM drives it. */
export type GuestTsmState = 'unlocked' | 'locked' | 'run';

/** One TEE page range the guest accepts: where it sees it, and where the report puts it. */
export interface AcceptRange {
  /** RANGE_ID of the report range. */
  rangeId: number;
  /** The range's index in the report. */
  range: number;
  /** First guest physical address and page count. */
  gpa: bigint;
  pages: number;
  /** The first accepted page as the report places it in host physical addresses. */
  pa: bigint;
  /**
   * Byte offset of the first accepted page from the first page the report gives its
   * RANGE_ID: one ID may have several ranges (a BAR split by its MSI-X table and PBA), and
   * the firmware's accept calls name a page by ID and this offset.
   */
  rangeOffset: number;
}

/** What a successful verification leaves for accept (for the lock it verified). */
export interface Attested {
  /** The nonce the verified evidence was bound to (hex). */
  nonce: string;
  /** The TEE ranges to accept, placed in the guest's BARs. */
  ranges: AcceptRange[];
  /** RMM-DA's attest info the Realm passes back to consent (CCA only). */
  attestInfo?: { lockNonce: bigint; measNonce: bigint; reportNonce: bigint };
  /**
   * The evidence the verdict was about, as the guest received it: what an observer checks
   * the acceptance against (world/invariants.ts I12), never read by the guest again.
   */
  evidence: AttestationEvidence;
}

/** A device the VMM presents to the guest (what it enumerates on its virtual bus). */
export interface GuestDeviceConfig {
  /** The VMM's id of the device (TDX and CCA vdev id, SEV's guest BDF). */
  vdevId: number;
  /** The TDI the guest expects behind it (TDX names its DEVIF by this FunctionID). */
  interfaceId: InterfaceId;
  /** Its memory BARs at guest physical addresses. */
  bars: AssignedBar[];
  /** The device offers TDISP (a devsec TSM may lock it). */
  devsec: boolean;
  /** Who attests, accepts and uses it (default 'guest-kernel'). */
  role?: GuestRole;
}

export interface GuestDevice extends GuestDeviceConfig {
  tsm: GuestTsmState;
  /** A driver is bound (lock, accept and unlock refuse). */
  driver: boolean;
  /** The device's DMA engine is running (accept needs it idle). */
  dmaActive: boolean;
  /** Nonces the attester used (hex), oldest first; the one awaiting its evidence. */
  nonces: { used: string[]; pending?: string };
  /** The last verification's result for the current lock. */
  attested?: Attested;
  /** vfio-pci is the bound driver (`driver` is then set too). */
  vfio?: GuestVfioDevice;
}

export interface GuestState {
  flavour: string;
  /**
   * The seeded flaws this guest runs with (world/flaws.ts, component 'guest'): a guest kernel
   * patched to skip a check. Empty for the faithful guest.
   */
  flaws: string[];
  /** The seed and counter of the guest's nonces. */
  seed: string;
  counter: number;
  devices: Map<number, GuestDevice>;
  /**
   * SEV-SNP: the VMPCK the guest read from its secrets page (hex) and the sequence number of
   * the last message or reply sealed under it (platform/sev/guest-seal.ts). Absent until
   * the guest's first TIO_MSG_*.
   */
  seal?: { vmpck: string; seq: number };
}

export function createGuestState(
  flavour: string,
  devices: GuestDeviceConfig[],
  seed = `guest ${flavour}`,
  flaws: readonly string[] = [],
): GuestState {
  const map = new Map<number, GuestDevice>();
  for (const d of devices) {
    map.set(d.vdevId, {
      ...structuredClone(d),
      tsm: 'unlocked',
      driver: false,
      dmaActive: false,
      nonces: { used: [] },
    });
  }
  return { flavour, flaws: [...flaws], seed, counter: 0, devices: map };
}

/** A fresh 32-byte nonce (hex) from the guest's seeded counter. */
export function freshNonce(g: GuestState): string {
  const n = digest('sha256', new TextEncoder().encode(`${g.seed}:nonce:${g.counter}`));
  g.counter += 1;
  return Buffer.from(n).toString('hex');
}

/** The guest runs with seeded flaw `name` (world/flaws.ts). */
export const hasFlaw = (g: GuestState, name: string): boolean => g.flaws.includes(name);
