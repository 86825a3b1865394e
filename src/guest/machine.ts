/**
 * What a confidential guest can reach of the machine it runs on, and nothing more (DESIGN.md
 * "trust boundaries are folders"; SYSTEM.md sections 1 and 3):
 *
 * - the firmware's guest ABI, one call by its real name, straight to the TSM (a TDCALL leaf
 *   'TDG.MMIO.ACCEPT', an SNP guest message 'TIO_MSG_TDI_INFO_REQ', an RSI command
 *   'RSI_VDEV_GET_INFO'): the host does not see these;
 * - hypercalls to its VMM (TDVMCALL, VMGEXIT, the Realm's host call): what the untrusted
 *   host is asked to relay, and may drop, delay or rewrite;
 * - its own CPU accesses by guest physical address: a private GPA through the VM's secure
 *   EPT (T=1 MMIO, or private RAM), a shared GPA through the shared EPT (T=0).
 *
 * The world builds a GuestMachine over the platform and the VMM for one VM; the guest's own
 * records are plain data elsewhere (guest/state.ts). The VMM's side of the hypercalls lives
 * in host/vmm/ with the same shapes (host/ and guest/ do not import each other).
 */
import type { AbiArg, AbiOutcome, Hypercall, HypercallAnswer } from '../platform/abi.ts';
import type { Verdict } from '../platform/events.ts';
import type { MmioAccess } from '../platform/fabric.ts';
import type { VmId } from '../platform/ids.ts';
import type { Outcome } from '../platform/result.ts';

/** A guest ABI call's argument record (bigints for addresses, as the ABIs take). */
export type GuestCallArgs = Record<string, AbiArg | AbiArg[] | Uint8Array | undefined>;

/**
 * What the guest asks its VMM for (SYSTEM.md section 3, guest calls that need the host):
 * - 'tsm-bind' / 'tsm-unbind': lock or release the device the guest sees at virtual BDF
 *   `vdevId` (the VMM issues VFIO_DEVICE_TSM_BIND or IOMMU_VDEVICE_TSM_OP by its switch);
 * - 'tsm-guest-req': carry a flavour message about that device to the firmware and back
 *   (pci_tsm_guest_req: IOMMU_VDEVICE_TSM_REQ or the VFIO path), scope as the kernel names it;
 * - 'map-gpa': convert `pages` guest pages at `gpa` between private and shared
 *   (TDG.VP.VMCALL<MapGPA>, the GHCB page state change, RSI_IPA_STATE_SET's host half).
 */
export type GuestHypercall = Hypercall;

/**
 * The VMM's answer: the value the relayed call produced, or the errno the host returned
 * (what a guest sees of a host refusal: a failed hypercall and its code, nothing more).
 */
export type HypercallResult = HypercallAnswer;

export interface GuestMachine {
  /** The TSM flavour ('tdx', 'sev', 'cca'): which guest ABI the guest speaks. */
  readonly flavour: string;
  /** This confidential VM as the firmware names it (the TD, SNP guest context or Realm). */
  readonly vm: VmId;
  /** One guest ABI call by its real name, answered by the firmware. */
  tsmCall(call: string, args: GuestCallArgs): Promise<AbiOutcome<unknown>>;
  /** One hypercall to the VMM, relayed by the untrusted host. */
  hypercall(call: GuestHypercall): Promise<HypercallResult>;
  /** A CPU read of `size` bytes at `gpa` (MMIO of an assigned device, private or shared). */
  mmioRead(gpa: bigint, size: number): Outcome<MmioAccess>;
  mmioWrite(gpa: bigint, data: Uint8Array): Outcome<{ status: Verdict }>;
  /**
   * A CPU access to the guest's RAM at `gpa`: private pages through the secure EPT, shared
   * ones through the shared EPT; undefined where nothing is mapped (the guest would fault).
   */
  memRead(gpa: bigint, length: number): Uint8Array | undefined;
  memWrite(gpa: bigint, data: Uint8Array): boolean;
}
