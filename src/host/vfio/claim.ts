/**
 * The exclusive claim of a device's BARs (the TEE-IO RFC's pci_request_regions_exclusive for
 * a private device): while claimed, no host mapping of a BAR can exist, so the host cannot
 * touch MMIO that may become private. When it is taken is SYSTEM.md open question 6 (switch
 * `regionClaim`): once at VFIO_DEVICE_BIND_IOMMUFD_PRIVATE ('open'), or per TSM bind ('bind').
 */
import type { VfioDevice } from './state.ts';

/** Why the BARs of `d` cannot be claimed now (a host mmap exists), or undefined. */
export function claimRefusal(d: VfioDevice): string | undefined {
  if (d.claimed) return undefined;
  return d.mmapped.length > 0
    ? `BAR ${d.mmapped.join(', ')} of fd ${d.fd} is mmapped by the host`
    : undefined;
}
