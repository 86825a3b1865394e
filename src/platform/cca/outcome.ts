/**
 * The CCA-like flavour's ABI outcomes: an RMI command answers an RmiStatusCode, an RSI
 * command an RsiStatusCode (RMM specification 1.1, B4.4 and B5.3), and a refusal of the TSM
 * core becomes the code the RMM's failure conditions give for the same cause: an object that
 * is not there is RMI_ERROR_INPUT (its granule is not a PDEV / VDEV / RD), an object in the
 * wrong state or a device that failed is RMI_ERROR_DEVICE, an RTT entry in the wrong state
 * is RMI_ERROR_RTT, a Realm in the wrong state RMI_ERROR_REALM.
 */
import { type AbiArg, type AbiOutcome, abiOutcome } from '../abi.ts';
import type { TsmRefusal } from '../tsm/result.ts';
import type { RmiStatus, RsiStatus } from './status.ts';

export const FLAVOUR = 'cca';

/** The RmiStatusCode for each core refusal. */
export const RMI_STATUS_OF: Readonly<Record<TsmRefusal, RmiStatus>> = {
  'no-such-device': 'RMI_ERROR_INPUT',
  'device-exists': 'RMI_ERROR_INPUT',
  'device-not-connected': 'RMI_ERROR_DEVICE',
  'device-connected': 'RMI_ERROR_DEVICE',
  'device-has-tdis': 'RMI_ERROR_DEVICE',
  'no-such-tdi': 'RMI_ERROR_INPUT',
  'tdi-exists': 'RMI_ERROR_INPUT',
  'no-such-vm': 'RMI_ERROR_INPUT',
  'vm-exists': 'RMI_ERROR_INPUT',
  'vm-finalized': 'RMI_ERROR_REALM',
  'vm-not-finalized': 'RMI_ERROR_REALM',
  'tdi-bound': 'RMI_ERROR_DEVICE',
  'tdi-not-bound': 'RMI_ERROR_DEVICE',
  'wrong-vm': 'RMI_ERROR_INPUT',
  'tdi-state': 'RMI_ERROR_DEVICE',
  'no-report': 'RMI_ERROR_DEVICE',
  'not-in-report': 'RMI_ERROR_INPUT',
  'page-mapped': 'RMI_ERROR_RTT',
  'page-not-mapped': 'RMI_ERROR_RTT',
  'tdi-mapped': 'RMI_ERROR_DEVICE',
  'page-owner': 'RMI_ERROR_INPUT',
  'sept-state': 'RMI_ERROR_RTT',
  'dma-state': 'RMI_ERROR_DEVICE',
  'device-error': 'RMI_ERROR_DEVICE',
};

/** The RsiStatusCode for each core refusal met on a Realm's call. */
export function rsiStatusOf(reason: TsmRefusal): RsiStatus {
  return reason === 'device-error' || reason === 'tdi-state'
    ? 'RSI_ERROR_DEVICE'
    : 'RSI_ERROR_INPUT';
}

/** An RMI command's outcome and event. */
export function rmi<T = never>(
  call: string,
  args: Record<string, AbiArg>,
  status: RmiStatus,
  value?: NoInfer<T>,
  detail?: string,
): AbiOutcome<T> {
  return abiOutcome<T>(FLAVOUR, 'host', call, args, {
    ok: status === 'RMI_SUCCESS',
    status,
    ...(value === undefined ? {} : { value }),
    ...(detail === undefined ? {} : { detail }),
  });
}

/** An RSI command's outcome and event. */
export function rsi<T = never>(
  call: string,
  args: Record<string, AbiArg>,
  status: RsiStatus,
  value?: NoInfer<T>,
  detail?: string,
): AbiOutcome<T> {
  return abiOutcome<T>(FLAVOUR, 'guest', call, args, {
    ok: status === 'RSI_SUCCESS',
    status,
    ...(value === undefined ? {} : { value }),
    ...(detail === undefined ? {} : { detail }),
  });
}
