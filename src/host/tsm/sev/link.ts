/**
 * pci_tsm_ops connect and disconnect of the SEV host driver (sev-dev-tsm.c dev_connect,
 * dev_disconnect): connect is TIO_DEV_CREATE (the device context) and TIO_DEV_CONNECT (the
 * SPDM session and TC0's IDE keys, over the DSM's DOE mailbox); a failed connect reclaims
 * the context again (dev_connect's free_exit). Disconnect is TIO_DEV_DISCONNECT (K_SET_STOP,
 * END_SESSION) and TIO_DEV_RECLAIM, refused while the driver still has a TDI context of the
 * device (TIO_DEV_RECLAIM would refuse it too); a silent device is disconnected by FORCE.
 */
import type { Rid } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, hex, psp, pspFailed, pspRun, refuseRun } from './firmware.ts';
import { sevRecords, sevRecordsToWrite } from './records.ts';

/**
 * TIO_DEV_CREATE's root_port_id: Linux reads the Port Number from the root port's LNKCAP;
 * the machine has one root port, port 0, and no config space of it to read.
 */
const ROOT_PORT_NUMBER = 0;
/** TIO_DEV_CREATE's segment_id: pci_domain_nr, segment 0 on this machine. */
const SEGMENT = 0;
/** TC0 only, as sev-dev-tsm.c dev_connect asks (tc_mask = 1). */
const TC_MASK = 1;
/**
 * A device that no longer answers (its session gone, an SPDM error): the driver's remove
 * path cannot stay connected to it, so it disconnects again with
 * TIO_DEV_DISCONNECT_FLAG_FORCE, which forgets the session without SPDM traffic.
 */
const SILENT = new Set(['SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN', 'SEV_RET_SPDM_ERROR']);
/** IDE stream ids are 8 bits (PCIe 6.x 7.9.26). */
const STREAM_IDS = 256;

/** The lowest IDE stream id no device of this driver uses. */
function freeStreamId(h: HostState): number | undefined {
  const used = new Set([...sevRecords(h).devs.values()].map((d) => d.streamId));
  for (let id = 0; id < STREAM_IDS; id++) if (!used.has(id)) return id;
  return undefined;
}

export async function sevConnect(m: HostMachine, h: HostState, dsm: Rid): Promise<HostOutcome> {
  const run = pspRun(m);
  if (sevRecords(h).devs.has(dsm)) return refuseRun(run, 'EBUSY', `${hex(dsm)} is connected`);
  const streamId = freeStreamId(h);
  if (streamId === undefined) return refuseRun(run, 'ENOSPC', 'no free IDE stream id');
  const c = await psp(run, 'TIO_DEV_CREATE', {
    deviceId: dsm,
    rootPortId: ROOT_PORT_NUMBER,
    segmentId: SEGMENT,
  });
  if (!c.ok) return pspFailed(run, c);
  const k = await psp(
    run,
    'TIO_DEV_CONNECT',
    { dev: dsm, tcMask: TC_MASK, ideStreamIds: [streamId] },
    dsm,
  );
  if (!k.ok) {
    await psp(run, 'TIO_DEV_RECLAIM', { dev: dsm });
    return pspFailed(run, k);
  }
  sevRecordsToWrite(h).devs.set(dsm, { dev: dsm, streamId });
  return doneRun(run, undefined);
}

export async function sevDisconnect(m: HostMachine, h: HostState, dsm: Rid): Promise<HostOutcome> {
  const run = pspRun(m);
  const r = sevRecords(h);
  if (!r.devs.has(dsm)) return refuseRun(run, 'ENXIO', `${hex(dsm)} is not connected`);
  const tdis = [...r.tdis.values()].filter((t) => t.dev === dsm).map((t) => hex(t.tdi));
  if (tdis.length > 0) return refuseRun(run, 'EBUSY', `TDI contexts left: ${tdis.join(', ')}`);
  let d = await psp(run, 'TIO_DEV_DISCONNECT', { dev: dsm }, dsm);
  if (!d.ok && SILENT.has(d.status)) {
    d = await psp(run, 'TIO_DEV_DISCONNECT', { dev: dsm, force: true }, dsm);
  }
  if (!d.ok) return pspFailed(run, d);
  // The session is gone whatever follows: forget the device now.
  sevRecordsToWrite(h).devs.delete(dsm);
  const c = await psp(run, 'TIO_DEV_RECLAIM', { dev: dsm });
  if (!c.ok) return pspFailed(run, c);
  return doneRun(run, undefined);
}
