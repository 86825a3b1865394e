/**
 * The open design questions of SYSTEM.md section 6 that live in the platform (the firmware
 * and the hardware), as world settings (DESIGN.md principle 5), beside the host's in
 * host/switches.ts. They sit in the platform's own records, so a snapshot carries them. The
 * numbers are SYSTEM.md's.
 */
import {
  DEFAULT_LOCK_FLAGS,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX,
} from '../wire/tdisp/constants.ts';

export interface PlatformSwitches {
  /**
   * (9) A T=1 DMA the fabric refuses from a TDI in RUN: dropped and forgotten ('silent'), or
   * reported to the TSM, which takes the TDI to ERROR ('report').
   */
  droppedDma: 'silent' | 'report';
  /**
   * (11) Whether the MSI-X table and PBA are private resources of a locked TDI ('private') or
   * stay the host's ('shared'). Absent: the flavour's own answer.
   */
  msixTable?: 'shared' | 'private';
  /**
   * (8) Where a T=1 DMA translates: through its VM's secure EPT, the table the CPU uses
   * ('shared', the TDX Connect shape), or through the trusted IOMMU's own table of the VM,
   * which the firmware fills from the secure EPT when the guest accepts DMA ('mirrored',
   * iommu-mirror.ts). The IOMMU is built one way or the other: createPlatform copies this
   * into its record (IommuState.secureDmaTable), which is what the fabric reads.
   */
  dmaTable: DmaTable;
}

/** Question 8's positions. */
export type DmaTable = 'shared' | 'mirrored';

export const DEFAULT_PLATFORM_SWITCHES: Readonly<PlatformSwitches> = Object.freeze({
  droppedDma: 'silent',
  dmaTable: 'shared',
});

/** The platform's switch names, to tell them from the host's in one settings record. */
export const PLATFORM_SWITCH_KEYS: readonly (keyof PlatformSwitches)[] = [
  'droppedDma',
  'msixTable',
  'dmaTable',
];

/** The platform's part of a record of switches of both layers. */
export function platformSwitchesOf(all: Partial<PlatformSwitches> & object): PlatformSwitches {
  const out: PlatformSwitches = { ...DEFAULT_PLATFORM_SWITCHES };
  for (const k of PLATFORM_SWITCH_KEYS) {
    const v = (all as Record<string, unknown>)[k];
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** Where the MSI-X table and PBA of a locked TDI belong (question 11). */
export type MsixTable = NonNullable<PlatformSwitches['msixTable']>;

/**
 * Each flavour's own answer to question 11: the TDX module locks without LOCK_MSIX (tdisp.c
 * assign_tdisp_header), so the table stays the host's; SEV-TIO's TIO_TDI_BIND and CCA's
 * RMI_VDEV_LOCK lock with it. Keyed by name, not by FlavourName, so the switches stay below
 * the flavours.
 */
const FLAVOUR_MSIX_TABLE: Readonly<Record<string, MsixTable>> = {
  tdx: 'shared',
  sev: 'private',
  cca: 'private',
};

/** The effective answer to question 11 for `flavour`: the switch, else the flavour's own. */
export function msixTableOf(s: Partial<PlatformSwitches>, flavour: string): MsixTable {
  if (s.msixTable) return s.msixTable;
  return Object.hasOwn(FLAVOUR_MSIX_TABLE, flavour) ? FLAVOUR_MSIX_TABLE[flavour] : 'private';
}

/** The LOCK_INTERFACE_FLAGS bit that answer asks of the device: LOCK_MSIX when private. */
export function msixLockFlag(s: Partial<PlatformSwitches>, flavour: string): number {
  return msixTableOf(s, flavour) === 'private' ? PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX : 0;
}

/**
 * The LOCK_INTERFACE_FLAGS a TSM that chooses them itself locks with on this platform (SEV's
 * TIO_TDI_BIND by default, CCA's RMM): every TSM's default, LOCK_MSIX as question 11 answers.
 */
export function platformLockFlags(s: Partial<PlatformSwitches>, flavour: string): number {
  return (
    (DEFAULT_LOCK_FLAGS & ~PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX) | msixLockFlag(s, flavour)
  );
}
