/**
 * A TSM host driver: what Linux's platform TSM drivers (drivers/virt/coco/tdx-host,
 * ccp/sev-dev-tio, arm-cca-host) give the PCI/TSM core as `struct pci_tsm_ops`, plus the
 * arch code KVM calls to change a confidential VM's private memory (arch/x86/kvm/vmx/tdx.c,
 * svm/sev.c, arm64 rme). One driver per flavour (tdx.ts, sev.ts, cca.ts), each speaking
 * only its flavour's host ABI through HostMachine.firmware, by the real call names.
 *
 * Every method is a function of (machine, host state, arguments): the driver's own records
 * (firmware handles, which TDI it created) live in `HostState.tsmDriver`, plain data. A
 * firmware refusal becomes the errno the real driver returns (busy -> EBUSY, anything the
 * driver cannot recover -> EIO), with the firmware's own event in the outcome.
 */
import type { AbiArg } from '../../platform/abi.ts';
import type { Rid, VmId } from '../../platform/ids.ts';
import type { HostMachine } from '../machine.ts';
import type { HostOutcome } from '../outcome.ts';
import type { HostState } from '../state.ts';

/** A guest's TSM request as the VMM relays it (pci_tsm_guest_req scopes, SYSTEM.md 3). */
export interface GuestRequest {
  scope: 'info' | 'state-change' | 'debug-read' | 'debug-write';
  /** The flavour's own message: its name and fields (e.g. TDX 'GET_DEVICE_INTERFACE_REPORT'). */
  message: Record<string, AbiArg>;
}

export interface TsmHostDriver {
  readonly flavour: string;

  // struct pci_tsm_ops, link side
  /** connect: an SPDM session with the DSM at `dsm` and its IDE stream keyed both ends. */
  connect(m: HostMachine, h: HostState, dsm: Rid): Promise<HostOutcome>;
  /** disconnect: the stream stopped, END_SESSION, the firmware's device records freed. */
  disconnect(m: HostMachine, h: HostState, dsm: Rid): Promise<HostOutcome>;
  /**
   * bind: the TDI `rid` created in the firmware for confidential VM `vm` (the guest sees it
   * at virtual BDF `vdevId`) and locked: CONFIG_LOCKED when this succeeds.
   */
  bind(
    m: HostMachine,
    h: HostState,
    a: { rid: Rid; vm: VmId; vdevId: number },
  ): Promise<HostOutcome>;
  /**
   * stop: the TDI leaves CONFIG_LOCKED / RUN for CONFIG_UNLOCKED and its private state is
   * scrubbed (TDX: DEVIF.REQUEST STOP_INTERFACE; SEV: TIO_TDI_UNBIND; CCA: RMI_VDEV_UNLOCK).
   * After it, the flavour lets KVM unmap the TDI's private MMIO.
   */
  stop(m: HostMachine, h: HostState, a: { rid: Rid }): Promise<HostOutcome>;
  /**
   * unbind: every trusted record of the TDI freed (trusted DMA, MMIO ownership, the TDI
   * object): TDX DMAR.BLOCK/REMOVE, MMIOMT.REMOVE, DEVIF.REMOVE; SEV TDI_RECLAIM and the
   * ASID fence cleared; CCA VDEV_DESTROY. Refused (EBUSY) where the firmware refuses while
   * private MMIO of the TDI is still mapped (TDX).
   */
  unbind(m: HostMachine, h: HostState, a: { rid: Rid }): Promise<HostOutcome>;
  /** guest_req: carry a guest's request about TDI `rid` to the firmware and its answer back. */
  guestRequest(
    m: HostMachine,
    h: HostState,
    a: { rid: Rid; vm: VmId; request: GuestRequest },
  ): Promise<HostOutcome<unknown>>;

  // KVM's arch calls for a confidential VM
  vmCreate(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome>;
  /** The launch is finished (TDH.MR.FINALIZE, SNP_LAUNCH_FINISH, RMI_REALM_ACTIVATE). */
  vmFinalize(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome>;
  vmDestroy(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome>;
  /** A guest_memfd page made private at `gfn` (TDH.MEM.PAGE.AUG, RMPUPDATE, RMI_DATA_CREATE). */
  mapPrivatePage(
    m: HostMachine,
    h: HostState,
    a: { vm: VmId; gfn: bigint; hpfn: bigint },
  ): Promise<HostOutcome>;
  /** The private page at `gfn` removed (block, track, remove): scrubbed back to shared. */
  unmapPrivatePage(
    m: HostMachine,
    h: HostState,
    a: { vm: VmId; gfn: bigint },
  ): Promise<HostOutcome>;
  /** A BAR page `pfn` of bound TDI `rid` mapped private at `gfn` in the VM's secure EPT. */
  mapPrivateMmio(
    m: HostMachine,
    h: HostState,
    a: { vm: VmId; gfn: bigint; pfn: bigint; rid: Rid },
  ): Promise<HostOutcome>;
  /** The private MMIO page at `gfn` unmapped (TDX: block, track, unmap). */
  unmapPrivateMmio(
    m: HostMachine,
    h: HostState,
    a: { vm: VmId; gfn: bigint },
  ): Promise<HostOutcome>;
  /** The TDI's trusted DMA context set up for its VM (iommufd's trusted IOMMU setup). */
  enableTrustedDma(m: HostMachine, h: HostState, a: { rid: Rid }): Promise<HostOutcome>;
}
