/**
 * How the CCA host driver calls the RMM and turns its answers into errnos: each RMI command
 * by name through HostMachine.firmware, its events kept in order, and a refusal mapped as
 * the driver would (an argument the RMM rejects is -EINVAL, RMI_BUSY is -EBUSY, a device
 * that failed or an object in a state the driver did not expect is -EIO). A caller that
 * knows a status means "still in use" for its command says so (`as`).
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
export type RmiRun = FirmwareRun;
export const rmiRun = firmwareRun;

const ERRNO_OF: Readonly<Record<string, Errno>> = {
  RMI_ERROR_INPUT: 'EINVAL',
  RMI_ERROR_REALM: 'EINVAL',
  RMI_ERROR_REC: 'EINVAL',
  RMI_ERROR_RTT: 'EINVAL',
  RMI_ERROR_NOT_SUPPORTED: 'EOPNOTSUPP',
  RMI_ERROR_DEVICE: 'EIO',
  RMI_BUSY: 'EBUSY',
};

/** One RMI command; `lend` names the DSM whose DOE mailbox carries a device transaction. */
export const rmiCall = firmwareCall;

/** The refusal for a failed command, with every event so far. */
export function rmiFailed<T = never>(
  run: RmiRun,
  o: AbiOutcome<unknown>,
  as: Partial<Record<string, Errno>> = {},
): HostOutcome<T> {
  return firmwareFailed(run, o, as[o.status] ?? ERRNO_OF[o.status] ?? 'EIO', 'RMI');
}

export { doneRun, refuseRun };
