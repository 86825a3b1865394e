/**
 * The CCA-like flavour's host ABI: the RMI commands an untrusted Host calls for a Realm's
 * private RAM and realm device assignment (RMM specification 1.1, A2.2, chapter A9 and
 * B4.5), by their real names. The Realm's
 * commands (RSI) are in guest-abi.ts and nothing here is reachable from there.
 */

import type { RequesterTransport } from '../../wire/transport.ts';
import type { AbiOutcome } from '../abi.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { rmiDataCreate, rmiDataCreateUnknown, rmiDataDestroy } from './rmi-data.ts';
import {
  type CcaPlatform,
  rmiPdevCommunicate,
  rmiPdevCreate,
  rmiPdevDestroy,
  rmiPdevGetState,
  rmiPdevSetPubkey,
  rmiPdevStop,
} from './rmi-pdev.ts';
import { rmiRealmActivate, rmiRealmCreate, rmiRealmDestroy } from './rmi-realm.ts';
import { rmiVdevMap, rmiVdevUnmap } from './rmi-rtt.ts';
import {
  rmiVdevCommunicate,
  rmiVdevCreate,
  rmiVdevDestroy,
  rmiVdevGetInterfaceReport,
  rmiVdevGetState,
  rmiVdevLock,
  rmiVdevStart,
  rmiVdevUnlock,
} from './rmi-vdev.ts';

export type { DataCreateArgs, DataDestroyArgs } from './rmi-data.ts';
export type {
  CcaPlatform,
  PdevCommunicated,
  PdevCreateArgs,
  PdevSetPubkeyArgs,
} from './rmi-pdev.ts';
export type { VdevMapArgs, VdevUnmapArgs } from './rmi-rtt.ts';
export type { VdevCommunicated, VdevCreateArgs, VdevRef } from './rmi-vdev.ts';

/** One RMI command; `args` is the command's own argument record. */
export type CcaHostCall = (
  p: CcaPlatform,
  env: TsmEnv,
  args: never,
  carrier?: RequesterTransport,
) => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>;

/** Every RMI command of the flavour by its real name. */
export const CCA_HOST_ABI = {
  RMI_REALM_CREATE: rmiRealmCreate,
  RMI_REALM_ACTIVATE: rmiRealmActivate,
  RMI_REALM_DESTROY: rmiRealmDestroy,
  RMI_DATA_CREATE: rmiDataCreate,
  RMI_DATA_CREATE_UNKNOWN: rmiDataCreateUnknown,
  RMI_DATA_DESTROY: rmiDataDestroy,
  RMI_PDEV_CREATE: rmiPdevCreate,
  RMI_PDEV_COMMUNICATE: rmiPdevCommunicate,
  RMI_PDEV_SET_PUBKEY: rmiPdevSetPubkey,
  RMI_PDEV_GET_STATE: rmiPdevGetState,
  RMI_PDEV_STOP: rmiPdevStop,
  RMI_PDEV_DESTROY: rmiPdevDestroy,
  RMI_VDEV_CREATE: rmiVdevCreate,
  RMI_VDEV_COMMUNICATE: rmiVdevCommunicate,
  RMI_VDEV_LOCK: rmiVdevLock,
  RMI_VDEV_START: rmiVdevStart,
  RMI_VDEV_UNLOCK: rmiVdevUnlock,
  RMI_VDEV_GET_INTERFACE_REPORT: rmiVdevGetInterfaceReport,
  RMI_VDEV_GET_STATE: rmiVdevGetState,
  RMI_VDEV_DESTROY: rmiVdevDestroy,
  RMI_VDEV_MAP: rmiVdevMap,
  RMI_VDEV_UNMAP: rmiVdevUnmap,
} as const satisfies Record<string, CcaHostCall>;
