/**
 * How the SEV host driver issues PSP commands and turns their status into errnos: each
 * command by name through HostMachine.firmware, its events kept in order. Linux's
 * sev-dev-tsm.c mkret() answers -EINVAL for every PSP error; this driver says more, as the
 * PCI/TSM core's callers need it: a context or ASID in use is -EBUSY, a parameter, guest
 * or TDI the firmware does not accept is -EINVAL, a device that failed (SPDM error, session
 * gone) or any status the driver cannot recover from is -EIO. RMPUPDATE is an instruction,
 * not a command: rmpupdate() in arch/x86/virt/svm/sev.c answers -EFAULT for any failure.
 */
import type { AbiOutcome } from '../../../platform/abi.ts';
import type { Errno } from '../../errno.ts';
import type { FirmwareArgs } from '../../machine.ts';
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
export type PspRun = FirmwareRun;
export const pspRun = firmwareRun;

const ERRNO_OF: Readonly<Record<string, Errno>> = {
  SEV_RET_IN_USE: 'EBUSY',
  SEV_RET_ASID_OWNED: 'EBUSY',
  SEV_RET_INVALID_PARAM: 'EINVAL',
  SEV_RET_INVALID_ADDRESS: 'EINVAL',
  SEV_RET_INVALID_ASID: 'EINVAL',
  SEV_RET_INVALID_GUEST: 'EINVAL',
  SEV_RET_INVALID_GUEST_STATE: 'EINVAL',
  SEV_RET_INACTIVE: 'EINVAL',
  SEV_RET_INVALID_PAGE_STATE: 'EINVAL',
  SEV_RET_INVALID_PAGE_OWNER: 'EINVAL',
  SEV_RET_SEV_STATUS_INVALID_DEV_CTX: 'EINVAL',
  SEV_RET_SEV_STATUS_INVALID_TDI_CTX: 'EINVAL',
  SEV_RET_SEV_STATUS_INVALID_TDI: 'EINVAL',
  SEV_RET_SEV_STATUS_INVALID_DEV_STATE: 'EINVAL',
  SEV_RET_SEV_STATUS_INVALID_TDI_STATE: 'EINVAL',
  SEV_RET_SPDM_ERROR: 'EIO',
  SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN: 'EIO',
};

/** One PSP command (or RMPUPDATE); `lend` names the DSM whose DOE mailbox it may use. */
export const psp = firmwareCall;

/**
 * TIO_GUEST_REQUEST's buffer holds the guest's sealed message, a structure; the machine's
 * argument record is flat, so the message travels as the firmware's own type.
 */
export const withMessage = (args: object): FirmwareArgs => args as FirmwareArgs;

/** The refusal for a failed call, with every event so far; `as` overrides per status. */
export function pspFailed<T = never>(
  run: PspRun,
  o: AbiOutcome<unknown>,
  as: Partial<Record<string, Errno>> = {},
): HostOutcome<T> {
  const errno =
    as[o.status] ?? (o.status.startsWith('RMPUPDATE_') ? 'EFAULT' : ERRNO_OF[o.status]) ?? 'EIO';
  return firmwareFailed(run, o, errno, 'PSP');
}

export { doneRun, refuseRun };

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
