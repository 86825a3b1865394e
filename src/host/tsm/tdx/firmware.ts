/**
 * How the TDX host driver makes SEAMCALLs and turns their completion status into errnos: each
 * call by its leaf name through HostMachine.firmware, its events kept in order, and a failed
 * status mapped as the driver would: something still in use or in a state that has to change
 * first is -EBUSY, something already there -EEXIST, a device or session that failed (or a
 * module state the driver cannot recover from) -EIO, and any other refused operand -EINVAL.
 */
import type { AbiOutcome } from '../../../platform/abi.ts';
import type { Errno } from '../../errno.ts';
import type { HostOutcome } from '../../outcome.ts';
import {
  doneRun,
  type FirmwareRun,
  firmwareCall,
  firmwareFailed,
  firmwareRun,
  refuseRun,
} from '../firmware-run.ts';

/** One driver operation's firmware calls so far. */
export type SeamRun = FirmwareRun;
export const seamRun = firmwareRun;

/** The errno of every status the driver does not answer with -EINVAL. */
export const TDX_ERRNO: Readonly<Record<string, Errno>> = {
  TDX_OPERAND_BUSY: 'EBUSY',
  // Still in use: the thing using it has to go first.
  TDX_DEVIF_HAS_MAPPED_MMIO: 'EBUSY',
  TDX_DEVIF_HAS_MAPPED_DMA: 'EBUSY',
  TDX_IOMMU_MT_PAGE_IN_USE: 'EBUSY',
  TDX_IDE_STREAM_HAS_DEVICE_INTERFACES: 'EBUSY',
  TDX_SPDM_HAS_ACTIVE_IDE_STREAMS: 'EBUSY',
  TDX_TD_HAS_ATTACHED_DEVICES: 'EBUSY',
  TDX_TD_ASSOCIATED_PAGES_EXIST: 'EBUSY',
  TDX_DEVIF_TDISP_OUT_REQ: 'EBUSY',
  TDX_IDE_STREAM_NOT_FREE: 'EBUSY',
  TDX_SPDM_ENTRY_ALREADY_PRESENT: 'EBUSY',
  TDX_DEVIFMT_ALREADY_PRESENT: 'EBUSY',
  // The TDI is LOCKED or RUN and its stream not blocked: STOP it first.
  TDX_DEVIF_TDISP_INVALID_STATE: 'EBUSY',
  TDX_DEVIF_INVALID_STATE: 'EBUSY',
  // Already there.
  TDX_PAGE_NOT_FREE: 'EEXIST',
  TDX_EPT_ENTRY_NOT_FREE: 'EEXIST',
  // The device, the session or the module's view of them failed.
  TDX_SPDM_AUTH_FAILED: 'EIO',
  TDX_SDPM_INVALID_MESSAGE: 'EIO',
  TDX_SPDM_INVALID_STATE: 'EIO',
  TDX_DEVIF_TDISP_INVALID_MESSAGE: 'EIO',
  TDX_DEVIF_TDISP_ERROR_STATE: 'EIO',
  TDX_DEVIF_INVALID_TDI_CONFIGURATION: 'EIO',
  TDX_DEVIF_PKH_MISMATCH: 'EIO',
  TDX_CONNECT_INVALID_STATE: 'EIO',
};

/** The errno of a failed status. */
export const tdxErrno = (status: string): Errno => TDX_ERRNO[status] ?? 'EINVAL';

/** One SEAMCALL; `lend` names the DSM whose DOE mailbox carries the call's messages. */
export const seamcall = firmwareCall;

/** The refusal for a failed call, with every event so far. */
export function seamFailed<T = never>(run: SeamRun, o: AbiOutcome<unknown>): HostOutcome<T> {
  return firmwareFailed(run, o, tdxErrno(o.status), 'SEAMCALL');
}

export { doneRun, refuseRun };
