/**
 * The open design questions of SYSTEM.md section 6 that live in the host, as world
 * settings (DESIGN.md principle 5). Both answers of each are implemented; the explorer
 * compares them. The numbers are SYSTEM.md's.
 */
export interface HostSwitches {
  /** (1) Where the TSM bind uAPI lives: VFIO_DEVICE_TSM_BIND, or the iommufd vDEVICE's TSM op. */
  bindUapi: 'vfio' | 'vdevice';
  /**
   * (5) Memory Space Enable clear, D3, FLR, VFIO_DEVICE_RESET and hot reset while the TDI is
   * bound: unbind first and go on ('unbind', the RFC), or refuse the operation ('refuse').
   */
  resetWhileBound: 'unbind' | 'refuse';
  /** (6) The exclusive claim of the BARs: once when the device is opened, or per TSM bind. */
  regionClaim: 'open' | 'bind';
  /**
   * (7) How KVM gets the pfns behind a dma-buf: a dma_buf_map_attachment() scatterlist
   * ('sg-table'), or the exporter's private pfn interface for a KVM importer ('phys-vec').
   */
  dmaBufPfns: 'sg-table' | 'phys-vec';
  /**
   * (10) The unbind order and its owner. 'stop-first' (SYSTEM.md section 4 step 7, the TDX
   * order): the TSM driver stops the TDI, then VFIO revokes the dma-bufs so KVM unmaps the
   * private MMIO, then the TSM frees its records. 'revoke-first': VFIO revokes first, so KVM
   * unmaps under a TDI that is still locked or running (TDX refuses the unmap, SEV fences the
   * ASID, CCA destroys the mapping), then stop and unbind.
   */
  unbindOrder: 'stop-first' | 'revoke-first';
  /**
   * (2) Bare-metal TIO: may a host process with no VM take a TDI to RUN? 'refuse' (every
   * firmware's bind wants a VM: TDX's TD, SEV's guest context, CCA's Realm): a TSM bind
   * through a vIOMMU without KVM is -ENOENT, so host VFIO stops at CONFIG_LOCKED only for a
   * guest. 'host-context': the TSM offers the bind a no-VM attestation context owned by the
   * host process (the flavour's VM record, created for it, with no vCPU and no KVM VM); the
   * process attests and accepts through that context's guest ABI and uses the TDI in RUN.
   * docs/roles.md says which invariants then mean nothing.
   */
  bareMetal: 'refuse' | 'host-context';
  /**
   * (4) When the VMM binds an assigned TDI. 'late': when the guest's devsec TSM asks (its
   * tsm/lock relayed as the tsm-bind hypercall). 'early': when the VMM assigns the device,
   * before the guest runs, so the guest finds its TDI CONFIG_LOCKED and its lock request is
   * answered from the VMM's record of that bind. Attestation, accept and START stay the
   * guest's either way; the guest's nonce keeps the evidence it fetches fresh.
   */
  bindTime: 'late' | 'early';
  /**
   * (3) Untrusted pre-setup before the lock. 'none' (the RFC): the TSM bind locks the
   * function as it finds it, so device state written with T=0 before LOCK_INTERFACE (by a
   * guest driver through the shared BAR, or by the host, which reaches the same BAR) is
   * carried into CONFIG_LOCKED and RUN. 'flr': the bind resets the function
   * (pci_reset_function, config space saved and restored) right before the firmware's lock,
   * so the lock finds device memory as reset left it and any pre-setup is lost.
   */
  preLockReset: 'none' | 'flr';
}

export const DEFAULT_HOST_SWITCHES: Readonly<HostSwitches> = Object.freeze({
  bindUapi: 'vdevice',
  resetWhileBound: 'unbind',
  regionClaim: 'bind',
  dmaBufPfns: 'phys-vec',
  unbindOrder: 'stop-first',
  bareMetal: 'refuse',
  bindTime: 'late',
  preLockReset: 'none',
});
