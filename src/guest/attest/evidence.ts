/**
 * What the guest's attester holds when it verifies a TDI (SYSTEM.md section 4 step 4): the
 * evidence its TSM collected from the device, and what the guest itself knows: which TDI it
 * asked about, the nonce it supplied, the BARs it was given. Plain data, so a verification
 * can be replayed from a trace.
 */
import type { HashAlg } from '../../crypto/hash.ts';
import type { MeasurementBlock } from '../../wire/spdm/measurements.ts';
import type { InterfaceId } from '../../wire/tdisp/messages.ts';
import type { AssignedBar } from '../../wire/tdisp/report-ranges.ts';

/** TDISP TDI states by their PCIe names. */
export type TdiStateName = 'CONFIG_UNLOCKED' | 'CONFIG_LOCKED' | 'RUN' | 'ERROR';

/** What the TSM hands the guest about one TDI. */
export interface AttestationEvidence {
  /** The negotiated SPDM base hash: the size and algorithm of the chain's RootHash. */
  hash: HashAlg;
  /** The SPDM certificate chain buffer of the slot the session used (DSP0274 10.7.1). */
  certChain: Uint8Array;
  /** The MEASUREMENTS blocks the TSM's GET_MEASUREMENTS returned (signature checked by it). */
  measurements: readonly MeasurementBlock[];
  /** The DEVICE_INTERFACE_REPORT as reassembled, and the InterfaceID its responses named. */
  report: { interfaceId: InterfaceId; bytes: Uint8Array };
  /** The nonce the TSM bound to this evidence: the guest's, echoed. */
  nonce: Uint8Array;
  /** The TDI's state when the evidence was collected. */
  tdiState: TdiStateName;
  /** LOCK_INTERFACE_FLAGS the TDI was locked with (PCI_TDISP_LOCK_INTERFACE_FLAGS_*). */
  lockFlags: number;
  /**
   * Relates the guest's BAR addresses to the report's FIRST_PAGE: FIRST_PAGE = (guest BAR
   * address + offset) / 4 KiB mod 2^64. 0 when the TSM had the device report guest addresses.
   */
  mmioReportingOffset: bigint;
  /** The firmware saw a device firmware update after LOCK; undefined when it cannot know. */
  firmwareUpdatedAfterLock?: boolean;
}

/** What the guest knows on its own, against which the evidence is checked. */
export interface AttestationRequest {
  /** The TDI the guest asked about. */
  interfaceId: InterfaceId;
  /** The fresh nonce the guest supplied with this request. */
  nonce: Uint8Array;
  /** The guest-visible memory BARs of the TDI (guest physical base and size per index). */
  bars: readonly AssignedBar[];
  /** Nonces of earlier verifications: evidence bound to one of them is a replay. */
  usedNonces?: readonly Uint8Array[];
  /** Time certificates must be valid at (default now). */
  at?: Date;
}

/** One failed check: which, and what was wrong. */
export interface AttestationReason {
  check: AttestationCheck;
  message: string;
}

export type AttestationCheck =
  | 'chain'
  | 'leaf'
  | 'measurements'
  | 'report'
  | 'report-fields'
  | 'mmio-ranges'
  | 'interface-info'
  | 'lock-flags'
  | 'firmware-update'
  | 'interface-id'
  | 'freshness'
  | 'tdi-state';

export type AttestationResult = { ok: true } | { ok: false; reasons: AttestationReason[] };
