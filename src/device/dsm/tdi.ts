/**
 * The TDI state machine of PCIe 6.x section 11.2.3 ("TDI State"): CONFIG_UNLOCKED,
 * CONFIG_LOCKED, RUN and ERROR as a discriminated union on `state`, each holding only what
 * is valid in that state (the start nonce exists only in CONFIG_LOCKED; P2P bindings only
 * once running). Plain, cloneable data.
 */
import {
  PCI_TDISP_INTERFACE_STATE_CONFIG_LOCKED,
  PCI_TDISP_INTERFACE_STATE_CONFIG_UNLOCKED,
  PCI_TDISP_INTERFACE_STATE_ERROR,
  PCI_TDISP_INTERFACE_STATE_RUN,
} from '../../wire/tdisp/constants.ts';
import type { FunctionSecurityView } from '../events.ts';

export type TdiStateName = 'CONFIG_UNLOCKED' | 'CONFIG_LOCKED' | 'RUN' | 'ERROR';

export const TDI_STATE_NAMES_ALL: readonly TdiStateName[] = [
  'CONFIG_UNLOCKED',
  'CONFIG_LOCKED',
  'RUN',
  'ERROR',
];

/** TDI_STATE byte of DEVICE_INTERFACE_STATE for each state. */
export const TDI_STATE_CODE: Readonly<Record<TdiStateName, number>> = {
  CONFIG_UNLOCKED: PCI_TDISP_INTERFACE_STATE_CONFIG_UNLOCKED,
  CONFIG_LOCKED: PCI_TDISP_INTERFACE_STATE_CONFIG_LOCKED,
  RUN: PCI_TDISP_INTERFACE_STATE_RUN,
  ERROR: PCI_TDISP_INTERFACE_STATE_ERROR,
};

/** One SPDM secured session: session ids are only unique within a connection. */
export interface SessionRef {
  connectionId: number;
  sessionId: number;
}

export function sameSession(a: SessionRef | undefined, b: SessionRef | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.connectionId === b.connectionId &&
    a.sessionId === b.sessionId
  );
}

/** What LOCK_INTERFACE_REQUEST bound into the TDI (PCIe 6.x 11.3.8). */
export interface LockRecord {
  /** The session LOCK arrived on; START and the RUN-state requests must use it too. */
  session: SessionRef;
  flags: number;
  defaultStreamId: number;
  mmioReportingOffset: bigint;
  bindP2PAddressMask: bigint;
  /** The security-relevant configuration when LOCK was accepted. */
  snapshot: FunctionSecurityView;
  /** LOCK_MSIX was requested and the function has MSI-X: the hardware locked it. */
  msixLocked: boolean;
}

/** A SET_MMIO_ATTRIBUTE change, BAR-relative so the T-bit policy can apply it. */
export interface MmioAttributeOverride {
  bar: number;
  offset: bigint;
  size: bigint;
  nonTee: boolean;
}

export type Tdi =
  | { state: 'CONFIG_UNLOCKED'; fn: number }
  | { state: 'CONFIG_LOCKED'; fn: number; lock: LockRecord; nonce: Uint8Array }
  | {
      state: 'RUN';
      fn: number;
      lock: LockRecord;
      p2pStreams: number[];
      mmioAttributes: MmioAttributeOverride[];
    }
  | { state: 'ERROR'; fn: number; lock: LockRecord; p2pStreams: number[]; cause: string };

export function unlockedTdi(fn: number): Tdi {
  return { state: 'CONFIG_UNLOCKED', fn };
}

/**
 * The ERROR transition of a locked or running TDI (the nonce is destroyed, PCIe 11.3.9);
 * any other TDI is returned unchanged, since ERROR triggers do nothing in CONFIG_UNLOCKED.
 */
export function errorTdi(tdi: Tdi, cause: string): Tdi {
  switch (tdi.state) {
    case 'CONFIG_LOCKED':
      return { state: 'ERROR', fn: tdi.fn, lock: tdi.lock, p2pStreams: [], cause };
    case 'RUN':
      return { state: 'ERROR', fn: tdi.fn, lock: tdi.lock, p2pStreams: tdi.p2pStreams, cause };
    default:
      return tdi;
  }
}

/** The streams a TDI uses in CONFIG_LOCKED / RUN (its default stream and bound P2P streams). */
export function boundStreams(tdi: Tdi): number[] {
  switch (tdi.state) {
    case 'CONFIG_LOCKED':
      return [tdi.lock.defaultStreamId];
    case 'RUN':
      return [tdi.lock.defaultStreamId, ...tdi.p2pStreams];
    default:
      return [];
  }
}
