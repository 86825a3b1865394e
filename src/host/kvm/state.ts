/**
 * KVM's records (virt/kvm, arch/x86/kvm): VMs by fd, their memslots, the private/shared
 * attribute of each guest frame, and for a confidential VM the mirror of its secure EPT:
 * what KVM believes the firmware mapped, entered only after the firmware call succeeded.
 */
import type { Rid, VmId } from '../../platform/ids.ts';
import { type PfnTable, pfnTable } from '../../platform/pfn-table.ts';

export interface KvmMemslot {
  slot: number;
  /** KVM_MEM_* flags as given (KVM_MEM_GUEST_MEMFD 1<<2, KVM_MEM_VFIO_DMABUF 1<<3). */
  flags: number;
  /** First guest frame and number of pages. */
  baseGfn: bigint;
  pages: number;
  /** Shared backing: host frames of the userspace memory, one per page (plain slots). */
  sharedHpfns?: bigint[];
  /** The guest_memfd fd backing private pages (KVM_MEM_GUEST_MEMFD). */
  guestMemfd?: number;
  /** The dma-buf fd (KVM_MEM_VFIO_DMABUF): BAR pages of a VFIO device. */
  dmaBuf?: number;
}

/** One mirror secure-EPT entry: a private page or a private MMIO page of a TDI. */
export type MirrorEntry =
  | { kind: 'memory'; hpfn: bigint }
  | { kind: 'mmio'; pfn: bigint; rid: Rid };

export interface KvmVm {
  fd: number;
  /** The name the firmware knows the VM by (TD, guest context, realm). */
  vm: VmId;
  /** KVM_X86_TDX_VM / KVM_X86_SNP_VM / realm: a confidential VM; 'default' otherwise. */
  type: 'default' | 'confidential';
  /** The launch is finished (measured pages can no longer be added). */
  finalized: boolean;
  memslots: Map<number, KvmMemslot>;
  /** KVM_SET_MEMORY_ATTRIBUTES: guest frames marked private (absent: shared). */
  privateGfns: PfnTable<true>;
  /** The mirror secure EPT: guest frame -> what the firmware confirmed mapped. */
  mirror: PfnTable<MirrorEntry>;
  /** Guest frames of shared memory mapped in the shared EPT through this VM's slots. */
  sharedMapped: PfnTable<true>;
}

/** A guest_memfd file (KVM_CREATE_GUEST_MEMFD): private memory of one VM, by page index. */
export interface GuestMemfd {
  fd: number;
  vmFd: number;
  /** Number of pages (the size it was created with). */
  pages: number;
  /** Page index -> host frame, allocated when the guest first faults the page in. */
  hpfns: Map<number, bigint>;
  /** Page index ranges bound to memslots: slot -> [first, first + pages). */
  bindings: Map<number, { first: number; pages: number }>;
}

export interface KvmState {
  vms: Map<number, KvmVm>;
  guestMemfds: Map<number, GuestMemfd>;
  /**
   * Host frames of the memory map in use by KVM (shared slot backing, guest_memfd pages):
   * the host's page allocator (mm.ts), so no frame backs two things.
   */
  hostPages: PfnTable<true>;
  /**
   * Seeded flaws of KVM (world/flaws.ts) the world switched on; absent in a faithful kernel.
   * 'kvm-mirror-before-firmware': the mirror entry is written (or dropped) before the
   * firmware call and left so when the call is refused.
   */
  flaws?: string[];
}

export const createKvmState = (): KvmState => ({
  vms: new Map(),
  guestMemfds: new Map(),
  hostPages: pfnTable(),
});
