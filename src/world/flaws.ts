/**
 * Seeded flaws: each a switch that breaks one component the way a real patch could, so the
 * explorer can show that the invariants catch it (and a scenario can show how). A flaw
 * lives in the component it breaks, in that component's plain-data state, so snapshots
 * carry it; the world hands each component its own flaws when it is built.
 */
import { WorldError } from './errors.ts';

export interface Flaw {
  /** Where the flaw is: the component a patch would have touched. */
  component: 'device' | 'spdm' | 'platform/tsm' | 'host/vfio' | 'host/kvm' | 'host/vmm' | 'guest';
  /** One line: what the flawed component does. */
  text: string;
  /** The invariants of SYSTEM.md section 5 that catch it. */
  breaks: readonly string[];
}

export const FLAWS = {
  'vfio-no-revoke-on-unbind': {
    component: 'host/vfio',
    text: 'VFIO forgets to revoke the dma-bufs of a device when its TDI is unbound',
    // Nothing revoked, so I3 has nothing to see; the firmware's tables are clean (SEV and CCA
    // release the TDI whole; TDX refuses the unbind): KVM's mirror keeps private MMIO of a
    // TDI bound to no VM.
    breaks: ['I2'],
  },
  'tsm-map-unchecked': {
    component: 'platform/tsm',
    text: "the TSM maps private MMIO without checking the TDI's owner, state or report",
    // A page outside the TDI's BARs (or of a TDI bound elsewhere) in a VM's secure EPT.
    breaks: ['I2'],
  },
  'device-bar-write-no-error': {
    component: 'device',
    text: 'the device does not go to ERROR on a BAR write while the TDI is locked',
    breaks: ['I5'],
  },
  'guest-accept-unchecked': {
    component: 'guest',
    text: "the guest accepts without checking the report's nonce, its MMIO ranges or (SEV) the sealed reply's sequence number",
    breaks: ['I12'],
  },
  'kvm-mirror-before-firmware': {
    component: 'host/kvm',
    text: 'KVM marks a mirror secure-EPT entry present before the firmware call succeeded',
    breaks: ['I10'],
  },
  'device-no-scrub-on-stop': {
    component: 'device',
    text: 'the device does not scrub its state when a TDI is stopped',
    breaks: ['I7'],
  },
  'trusted-dma-before-accept': {
    component: 'platform/tsm',
    text: 'the TSM enables trusted DMA for a TDI before the guest accepted it',
    breaks: ['I4'],
  },
  'responder-psk-finish-in-key-exchange': {
    component: 'spdm',
    text: 'the SPDM responder accepts PSK_FINISH in a session KEY_EXCHANGE opened',
    breaks: ['I13'],
  },
  'vmm-rewrite-unnoticed': {
    component: 'guest',
    text: "the guest does not notice the VMM's rewrite of a request it relays to the TSM",
    breaks: ['I12'],
  },
  'tsm-remove-with-mappings': {
    component: 'platform/tsm',
    text: 'the TSM removes a TDI while private MMIO or trusted DMA is still mapped for it',
    // I10 on its host side: KVM forgets pages the firmware said went with the TDI.
    breaks: ['I8', 'I10'],
  },
  'device-msix-change-not-caught': {
    component: 'device',
    text: 'the device does not go to ERROR when its MSI-X table changes while locked',
    breaks: ['I5'],
  },
  'tsm-release-mirrored-page': {
    component: 'platform/tsm',
    text: "under dmaTable 'mirrored', the TSM releases a guest page the IOMMU's own table still maps",
    // The device's T=1 DMA goes on reaching the page after the host got it back.
    breaks: ['I15'],
  },
  'device-pf-flr-not-propagated': {
    component: 'device',
    text: "the device does not take its VFs' TDIs to ERROR when the PF is reset by FLR",
    breaks: ['I5'],
  },
} as const satisfies Record<string, Flaw>;

export type FlawName = keyof typeof FLAWS;

export const FLAW_NAMES = Object.keys(FLAWS).sort() as FlawName[];

/** @throws WorldError naming an unknown flaw and listing the known ones */
export function checkFlaws(names: readonly string[]): FlawName[] {
  for (const n of names) {
    if (!Object.hasOwn(FLAWS, n)) {
      throw new WorldError(`unknown flaw '${n}' (known: ${FLAW_NAMES.join(', ')})`);
    }
  }
  return [...new Set(names)] as FlawName[];
}

/** The flaws of `names` that live in `component`. */
export function flawsIn(names: readonly FlawName[], component: Flaw['component']): FlawName[] {
  return names.filter((n) => FLAWS[n].component === component);
}
