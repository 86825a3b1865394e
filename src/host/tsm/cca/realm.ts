/**
 * KVM's arm64 realm calls through the CCA host driver (arch/arm64/kvm/rme.c): a Realm is
 * RMI_REALM_CREATE, activated once its image is in (RMI_REALM_ACTIVATE) and destroyed with
 * RMI_REALM_DESTROY, which the RMM refuses while a VDEV or a page is left (-EBUSY). A
 * private page is a data granule: RMI_DATA_CREATE for the image before activation,
 * RMI_DATA_CREATE_UNKNOWN after (the Realm then asks for it as RAM), RMI_DATA_DESTROY to
 * take it back scrubbed.
 */
import type { VmId } from '../../../platform/ids.ts';
import { PAGE_SHIFT } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, refuseRun, rmiCall, rmiFailed, rmiRun } from './firmware.ts';
import { ccaRecords, ccaRecordsToWrite } from './records.ts';

export async function ccaVmCreate(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = rmiRun(m);
  const r = await rmiCall(run, 'RMI_REALM_CREATE', { rd: vm });
  if (!r.ok) return rmiFailed(run, r, { RMI_ERROR_INPUT: 'EEXIST' });
  ccaRecordsToWrite(h).realms.set(vm, { rd: vm, active: false, data: new Map(), mmio: new Map() });
  return doneRun(run, undefined);
}

export async function ccaVmFinalize(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = rmiRun(m);
  const realm = ccaRecords(h).realms.get(vm);
  if (!realm) return refuseRun(run, 'ENXIO', `no Realm ${vm}`);
  const r = await rmiCall(run, 'RMI_REALM_ACTIVATE', { rd: vm });
  if (!r.ok) return rmiFailed(run, r);
  ccaRecordsToWrite(h).realms.set(vm, { ...realm, active: true });
  return doneRun(run, undefined);
}

export async function ccaVmDestroy(m: HostMachine, h: HostState, vm: VmId): Promise<HostOutcome> {
  const run = rmiRun(m);
  const r = await rmiCall(run, 'RMI_REALM_DESTROY', { rd: vm });
  // A Realm with VDEVs (RMI_ERROR_REALM) or pages (RMI_ERROR_RTT) left is still in use.
  if (!r.ok) return rmiFailed(run, r, { RMI_ERROR_REALM: 'EBUSY', RMI_ERROR_RTT: 'EBUSY' });
  ccaRecordsToWrite(h).realms.delete(vm);
  return doneRun(run, undefined);
}

export async function ccaMapPrivatePage(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint; hpfn: bigint },
): Promise<HostOutcome> {
  const run = rmiRun(m);
  const realm = ccaRecords(h).realms.get(a.vm);
  if (!realm) return refuseRun(run, 'ENXIO', `no Realm ${a.vm}`);
  const call = realm.active ? 'RMI_DATA_CREATE_UNKNOWN' : 'RMI_DATA_CREATE';
  const ipa = a.gfn << PAGE_SHIFT;
  const r = await rmiCall(run, call, { rd: a.vm, ipa, data: a.hpfn << PAGE_SHIFT });
  if (!r.ok) return rmiFailed(run, r, { RMI_ERROR_RTT: 'EEXIST' });
  ccaRecordsToWrite(h).realms.get(a.vm)?.data.set(a.gfn, a.hpfn);
  return doneRun(run, undefined);
}

export async function ccaUnmapPrivatePage(
  m: HostMachine,
  h: HostState,
  a: { vm: VmId; gfn: bigint },
): Promise<HostOutcome> {
  const run = rmiRun(m);
  const r = await rmiCall(run, 'RMI_DATA_DESTROY', { rd: a.vm, ipa: a.gfn << PAGE_SHIFT });
  if (!r.ok) return rmiFailed(run, r);
  ccaRecordsToWrite(h).realms.get(a.vm)?.data.delete(a.gfn);
  return doneRun(run, undefined);
}
