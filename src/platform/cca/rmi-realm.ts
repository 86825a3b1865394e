/**
 * RMI commands on a Realm as far as device assignment needs them (RMM specification 1.1,
 * A2.2 Realm lifecycle, B4.5 RMI_REALM_CREATE / RMI_REALM_ACTIVATE / RMI_REALM_DESTROY): a
 * Realm is the VM a VDEV binds to; a Realm that still owns VDEVs is live and cannot be
 * destroyed (RMI_ERROR_REALM).
 */
import type { AbiOutcome } from '../abi.ts';
import type { TsmEnv } from '../tsm/link.ts';
import type { VmId } from '../tsm/state.ts';
import { tsmVmCreate, tsmVmDestroy, tsmVmFinalize } from '../tsm/vm.ts';
import { RMI_STATUS_OF, rmi } from './outcome.ts';
import type { CcaPlatform } from './rmi-pdev.ts';

export function rmiRealmCreate(p: CcaPlatform, _env: TsmEnv, a: { rd: VmId }): AbiOutcome {
  const r = tsmVmCreate(p, a.rd);
  if (!r.ok) return rmi('RMI_REALM_CREATE', a, RMI_STATUS_OF[r.reason], undefined, r.detail);
  p.vendor.realms.set(a.rd, { ipas: new Map() });
  return rmi('RMI_REALM_CREATE', a, 'RMI_SUCCESS');
}

export function rmiRealmActivate(p: CcaPlatform, _env: TsmEnv, a: { rd: VmId }): AbiOutcome {
  const r = tsmVmFinalize(p, a.rd);
  const status = r.ok ? 'RMI_SUCCESS' : RMI_STATUS_OF[r.reason];
  return rmi('RMI_REALM_ACTIVATE', a, status, undefined, r.ok ? undefined : r.detail);
}

export function rmiRealmDestroy(p: CcaPlatform, _env: TsmEnv, a: { rd: VmId }): AbiOutcome {
  const r = tsmVmDestroy(p, a.rd);
  if (!r.ok) {
    const status = r.reason === 'tdi-bound' ? 'RMI_ERROR_REALM' : RMI_STATUS_OF[r.reason];
    return rmi('RMI_REALM_DESTROY', a, status, undefined, r.detail);
  }
  p.vendor.realms.delete(a.rd);
  return rmi('RMI_REALM_DESTROY', a, 'RMI_SUCCESS');
}
