/**
 * pci_tsm_guest_req of the CCA host driver: what a Realm asks its host through the Realm
 * Host Interface (RSI_HOST_CALL exits the VMM relays; Linux's arm-cca-guest rhi-da.c names
 * them), carried out with RMI commands because only the host may start a device
 * transaction (the Realm checks the result with RSI_VDEV_GET_INFO):
 *
 * - RHI_DA_OBJECT_SIZE / RHI_DA_OBJECT_READ {objectType, offset} (info): answered from the
 *   host's cache, the certificate chain (RHI_DA_OBJECT_CERTIFICATE) or the interface report
 *   (RHI_DA_OBJECT_INTERFACE_REPORT); no firmware call.
 * - RHI_DA_VDEV_GET_INTERFACE_REPORT (info): RMI_VDEV_GET_INTERFACE_REPORT and its
 *   transaction; the host caches the report for the Realm to read.
 * - RHI_DA_VDEV_SET_TDI_STATE {tdiState} (state-change): RHI_DA_TDI_CONFIG_LOCKED is
 *   RMI_VDEV_LOCK, RHI_DA_TDI_CONFIG_RUN is RMI_VDEV_START, each with its transaction.
 *
 * A state change is only UNLOCKED -> LOCKED or LOCKED -> RUN (SYSTEM.md section 3); a
 * message in the wrong scope is -EINVAL, an unknown one -EOPNOTSUPP, an object the host has
 * not cached -ENOENT.
 */
import type { Rid, VmId } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import type { GuestRequest } from '../driver.ts';
import { doneRun, type RmiRun, refuseRun, rmiCall, rmiFailed, rmiRun } from './firmware.ts';
import { type CcaVdevRecord, ccaRecords, ccaRecordsToWrite, pdevOf } from './records.ts';
import { vdevRef, vdevTransaction } from './vdev.ts';

const SCOPE: Readonly<Record<string, GuestRequest['scope']>> = {
  RHI_DA_OBJECT_SIZE: 'info',
  RHI_DA_OBJECT_READ: 'info',
  RHI_DA_VDEV_GET_INTERFACE_REPORT: 'info',
  RHI_DA_VDEV_SET_TDI_STATE: 'state-change',
};

const STATE_CALL: Readonly<Record<string, readonly [string, 'VDEV_LOCKED' | 'VDEV_STARTED']>> = {
  RHI_DA_TDI_CONFIG_LOCKED: ['RMI_VDEV_LOCK', 'VDEV_LOCKED'],
  RHI_DA_TDI_CONFIG_RUN: ['RMI_VDEV_START', 'VDEV_STARTED'],
};

export async function ccaGuestRequest(
  m: HostMachine,
  h: HostState,
  a: { rid: Rid; vm: VmId; request: GuestRequest },
): Promise<HostOutcome<unknown>> {
  const run = rmiRun(m);
  const msg = a.request.message;
  const name = String(msg.name);
  const v = ccaRecords(h).vdevs.get(a.rid);
  if (!v) return refuseRun(run, 'ENXIO', `no VDEV 0x${a.rid.toString(16)}`);
  if (v.rd !== a.vm) return refuseRun(run, 'EPERM', `the VDEV belongs to ${v.rd}`);
  const scope = SCOPE[name];
  if (!scope) return refuseRun(run, 'EOPNOTSUPP', `no Realm host call ${name}`);
  if (scope !== a.request.scope) {
    return refuseRun(run, 'EINVAL', `${name} is a ${scope} request, not ${a.request.scope}`);
  }
  switch (name) {
    case 'RHI_DA_OBJECT_SIZE':
    case 'RHI_DA_OBJECT_READ': {
      const obj = cachedObject(h, v, String(msg.objectType));
      if (!obj) return refuseRun(run, 'ENOENT', `no ${msg.objectType} cached`);
      if (name === 'RHI_DA_OBJECT_SIZE') return doneRun(run, { size: obj.length });
      const offset = Number(msg.offset ?? 0);
      if (!Number.isInteger(offset) || offset < 0 || offset > obj.length) {
        return refuseRun(run, 'EINVAL', `offset ${msg.offset} outside ${obj.length} bytes`);
      }
      return doneRun(run, { data: obj.slice(offset) });
    }
    case 'RHI_DA_VDEV_GET_INTERFACE_REPORT':
      return report(run, h, v);
    default: {
      const step = STATE_CALL[String(msg.tdiState)];
      if (!step) {
        return refuseRun(run, 'EINVAL', `${msg.tdiState}: only to LOCKED or to RUN`);
      }
      const t = await vdevTransaction(run, vdevRef(v), step[0], step[1]);
      if (!t.ok) return t;
      // A new LOCK makes the cached report stale (the RMM forgets its digest too).
      if (step[1] === 'VDEV_LOCKED') {
        const { report: _stale, ...rest } = v;
        ccaRecordsToWrite(h).vdevs.set(v.tdi, rest);
      }
      return doneRun(run, undefined);
    }
  }
}

function cachedObject(h: HostState, v: CcaVdevRecord, type: string): Uint8Array | undefined {
  if (type === 'RHI_DA_OBJECT_CERTIFICATE') return pdevOf(h, v.tdi)?.certChain;
  if (type === 'RHI_DA_OBJECT_INTERFACE_REPORT') return v.report;
  return undefined;
}

async function report(run: RmiRun, h: HostState, v: CcaVdevRecord): Promise<HostOutcome<unknown>> {
  const call = 'RMI_VDEV_GET_INTERFACE_REPORT';
  const state = await currentState(run, v);
  if (!state.ok) return state;
  const t = await vdevTransaction(run, vdevRef(v), call, state.value);
  if (!t.ok) return t;
  if (!t.value) return refuseRun(run, 'EIO', `${call}: no report to cache`);
  ccaRecordsToWrite(h).vdevs.set(v.tdi, { ...v, report: t.value });
  return doneRun(run, { size: t.value.length });
}

/** The VDEV's state now (a report leaves it where it is: LOCKED or STARTED). */
async function currentState(
  run: RmiRun,
  v: CcaVdevRecord,
): Promise<HostOutcome<'VDEV_LOCKED' | 'VDEV_STARTED'>> {
  const s = await rmiCall<string>(run, 'RMI_VDEV_GET_STATE', { vdev: v.tdi });
  if (!s.ok) return rmiFailed(run, s);
  if (s.value !== 'VDEV_LOCKED' && s.value !== 'VDEV_STARTED') {
    return refuseRun(run, 'EINVAL', `the VDEV is ${s.value}: no report before LOCK`);
  }
  return doneRun(run, s.value);
}
