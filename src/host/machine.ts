/**
 * What the untrusted host kernel can reach of the machine it runs on, and nothing more
 * (DESIGN.md "trust boundaries are folders"; SYSTEM.md section 1):
 *
 * - the firmware's host ABI, one call by its real name (a SEAMCALL leaf, an SEV-TIO
 *   command, an RMI command), lending the DOE mailbox of a DSM when the call talks to the
 *   device (the host carries the TSM's SPDM; the session's MACs protect it);
 * - configuration cycles and T=0 BAR accesses to the devices on its bus, through the fabric;
 * - the hardware it programs itself: the IOMMU's untrusted tables and each VM's shared EPT.
 *
 * The world builds the machine over one platform and its devices; the host's own records
 * are in HostState (state.ts). Cloning a world clones the platform and HostState, then
 * builds a new machine over the clone.
 */
import type { AbiArg, AbiOutcome } from '../platform/abi.ts';
import type { MmioAccess } from '../platform/fabric.ts';
import type { Rid } from '../platform/ids.ts';
import type { IommuError, IommuState } from '../platform/iommu.ts';
import type { OpResult, Outcome } from '../platform/result.ts';
import type { SharedEpts } from '../platform/shared-ept.ts';

/** A firmware call's argument record (bigints for addresses and frames, as the ABIs take). */
export type FirmwareArgs = Record<string, AbiArg | AbiArg[] | Uint8Array | undefined>;

export interface HostMachine {
  /** The TSM flavour of this platform ('tdx', 'sev', 'cca'): which host driver applies. */
  readonly flavour: string;
  /**
   * One host ABI call by its real name. `lend` names the DSM (function 0's requester id)
   * whose DOE mailbox the host carries the call's messages over.
   */
  firmware(call: string, args: FirmwareArgs, lend?: Rid): Promise<AbiOutcome<unknown>>;
  /** Requester ids of the functions present on the host's bus (what enumeration found). */
  functions(): Rid[];
  configRead(rid: Rid, offset: number, size: 1 | 2 | 4): number;
  configWrite(rid: Rid, offset: number, size: 1 | 2 | 4, value: number): void;
  /** The bus address enumeration gave BAR `bar` of `rid`, and its size; undefined if none. */
  barAddress(rid: Rid, bar: number): { base: bigint; size: bigint } | undefined;
  /** A host CPU access (T=0) to bus address `address`, routed by the fabric. */
  mmioRead(address: bigint, size: number): Outcome<MmioAccess>;
  mmioWrite(address: bigint, data: Uint8Array): Outcome<{ status: string }>;
  /** Host physical memory as the firmware's memory map gives it (what KVM allocates from). */
  readonly memoryMap: readonly { base: bigint; size: bigint }[];
  /** The IOMMU tables the host programs (iommufd drives them). */
  readonly iommu: IommuState;
  /**
   * iommu_map of one page into host domain `domain` (platform/iommu.ts iommuMap): the
   * hardware refuses a page that is not shared host memory, from owner records the host
   * cannot read itself, so the mapping goes through the machine.
   */
  iommuMap(
    domain: number,
    iovaPfn: bigint,
    hpfn: bigint,
    writable: boolean,
  ): Outcome<OpResult<object, IommuError>>;
  /** Each VM's shared EPT (KVM programs it). */
  readonly sharedEpts: SharedEpts;
}
