/**
 * LOCK_INTERFACE_REQUEST -> LOCK_INTERFACE_RESPONSE (PCIe 6.x 11.3.8 / 11.3.9).
 * Refused with INVALID_REQUEST for unsupported flags, when the default stream's keys were
 * not all programmed and started on the SPDM session the LOCK arrives on, or when the IDE
 * registers carry the default stream in several blocks or on a TC other than TC0; with
 * INVALID_DEVICE_CONFIGURATION when the function's BARs overlap; with INSUFFICIENT_ENTROPY
 * when no nonce can be drawn. On success the security-relevant configuration is
 * snapshotted, LOCK_MSIX locks the MSI-X table in the hardware, and a fresh 32-byte
 * START_INTERFACE_NONCE is returned.
 */
import {
  PCI_TDISP_ERROR_CODE_INSUFFICIENT_ENTROPY,
  PCI_TDISP_ERROR_CODE_INVALID_DEVICE_CONFIGURATION,
  PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE,
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX,
  PCI_TDISP_LOCK_INTERFACE_RSP,
  PCI_TDISP_START_INTERFACE_NONCE_SIZE,
} from '../../../wire/tdisp/constants.ts';
import type { LockInterfaceRequest } from '../../../wire/tdisp/messages.ts';
import type { FunctionSecurityView } from '../../events.ts';
import { streamKeyedOn } from '../ide-km/keys.ts';
import { defaultStreamProblem } from '../ide-registers.ts';
import { reportedBars } from '../interface-report.ts';
import type { LockRecord, Tdi } from '../tdi.ts';
import { fail, responseHeader, type TdispHandler } from './common.ts';

/** Memory BARs whose address ranges overlap (PCIe 11.3.8: "PF BARs configured with overlapping addresses"). */
export function barsOverlap(view: FunctionSecurityView): boolean {
  const bars = reportedBars(view);
  for (let i = 0; i < bars.length; i++) {
    for (let j = i + 1; j < bars.length; j++) {
      const [a, b] = [bars[i], bars[j]];
      if (a.address < b.address + b.size && b.address < a.address + a.size) return true;
    }
  }
  return false;
}

export const handleLock: TdispHandler<LockInterfaceRequest> = (req, c) => {
  // validate
  if ((req.flags & ~c.env.behaviour.lockFlagsSupported) !== 0) {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  }
  // check state
  if (c.tdi.state !== 'CONFIG_UNLOCKED') return fail(PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE);
  if (
    c.env.requireIde &&
    c.env.behaviour.lockNeedsIdeKeys &&
    !streamKeyedOn(c.ideKm, req.defaultStreamId, c.session)
  ) {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  }
  const regs = c.env.hw.ideRegisters?.[0];
  if (regs && defaultStreamProblem(regs, req.defaultStreamId) !== undefined) {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  }
  if (barsOverlap(c.view)) return fail(PCI_TDISP_ERROR_CODE_INVALID_DEVICE_CONFIGURATION);
  // process
  let nonce: Uint8Array;
  try {
    nonce = c.env.random(PCI_TDISP_START_INTERFACE_NONCE_SIZE);
  } catch {
    return fail(PCI_TDISP_ERROR_CODE_INSUFFICIENT_ENTROPY);
  }
  if (nonce.length !== PCI_TDISP_START_INTERFACE_NONCE_SIZE) {
    return fail(PCI_TDISP_ERROR_CODE_INSUFFICIENT_ENTROPY);
  }
  const msixLocked =
    (req.flags & PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX) !== 0 && c.view.msix !== undefined;
  const lock: LockRecord = {
    session: { ...c.session },
    flags: req.flags,
    defaultStreamId: req.defaultStreamId,
    mmioReportingOffset: req.mmioReportingOffset,
    bindP2PAddressMask: req.bindP2PAddressMask,
    snapshot: structuredClone(c.view),
    msixLocked,
  };
  const next: Tdi = { state: 'CONFIG_LOCKED', fn: c.fn, lock, nonce: nonce.slice() };
  // respond
  return {
    kind: 'response',
    response: {
      ...responseHeader(req, c.env),
      code: PCI_TDISP_LOCK_INTERFACE_RSP,
      startInterfaceNonce: nonce.slice(),
    },
    next,
    // The hardware reads the lock from `next` (the DSM's policy); this is the trace's record.
    events: msixLocked ? [{ kind: 'MSIX_LOCK', fn: c.fn, locked: true }] : [],
  };
};
