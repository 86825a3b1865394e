/**
 * The device link (struct pci_tsm_ops connect / disconnect of Linux's tdx-host driver): an
 * SPDM object for the DSM (TDH.SPDM.CREATE), its default IDE stream configured at the root
 * port (TDH.IDE.STREAM.CREATE), then the session and the stream's keys, carried over the
 * DSM's DOE mailbox (TDH.SPDM.CONNECT). Disconnect blocks and deletes the stream, ends the
 * session (TDH.SPDM.DISCONNECT) and deletes the SPDM object.
 */
import type { Rid } from '../../../platform/ids.ts';
import type { HostMachine } from '../../machine.ts';
import type { HostOutcome } from '../../outcome.ts';
import type { HostState } from '../../state.ts';
import { doneRun, refuseRun, type SeamRun, seamcall, seamFailed, seamRun } from './firmware.ts';
import { type TdxDeviceRecord, tdxRecords, tdxRecordsToWrite } from './records.ts';

/** The one IOMMU of the platform, which hosts every root port. */
const IOMMU_ID = 0;

/** The lowest number no connected device uses for `key`. */
function lowestFree(devices: Iterable<TdxDeviceRecord>, key: 'spdmIdx' | 'streamId'): number {
  const used = new Set([...devices].map((d) => d[key]));
  let n = 0;
  while (used.has(n)) n++;
  return n;
}

/** A retried disconnect: the stream was blocked, or blocked and deleted, by the last try. */
const STREAM_GONE_OR_BLOCKED = ['TDX_IDE_STREAM_BLOCKED', 'TDX_IDE_STREAM_NOT_CONFIGURED'];

/** Undoes what a failed connect created, newest first (both calls only free records). */
async function unwind(run: SeamRun, d: TdxDeviceRecord, stream: boolean): Promise<void> {
  if (stream) {
    await seamcall(run, 'TDH.IDE.STREAM.DELETE', { device: d.dsm, streamId: d.streamId });
  }
  await seamcall(run, 'TDH.SPDM.DELETE', { device: d.dsm });
}

export async function tdxConnect(m: HostMachine, h: HostState, dsm: Rid): Promise<HostOutcome> {
  const run = seamRun(m);
  const devices = tdxRecords(h).devices;
  if (devices.has(dsm)) return refuseRun(run, 'EBUSY', `0x${dsm.toString(16)} is connected`);
  const d: TdxDeviceRecord = {
    dsm,
    iommuId: IOMMU_ID,
    spdmIdx: lowestFree(devices.values(), 'spdmIdx'),
    streamId: lowestFree(devices.values(), 'streamId'),
  };
  const create = await seamcall(run, 'TDH.SPDM.CREATE', {
    device: dsm,
    iommuId: d.iommuId,
    spdmIdx: d.spdmIdx,
  });
  if (!create.ok) return seamFailed(run, create);
  const stream = await seamcall(run, 'TDH.IDE.STREAM.CREATE', {
    device: dsm,
    streamId: d.streamId,
  });
  if (!stream.ok) {
    await unwind(run, d, false);
    return seamFailed(run, stream);
  }
  const connect = await seamcall(run, 'TDH.SPDM.CONNECT', { device: dsm }, dsm);
  if (!connect.ok) {
    await unwind(run, d, true);
    return seamFailed(run, connect);
  }
  tdxRecordsToWrite(h).devices.set(dsm, d);
  return doneRun(run, undefined);
}

/**
 * Disconnect. Refused before any call while a DEVIF of the device remains (the module would
 * refuse the stream's deletion, but only after its block). A call failing later leaves the
 * record, so disconnect can be retried: a stream already blocked or deleted counts as done.
 */
export async function tdxDisconnect(m: HostMachine, h: HostState, dsm: Rid): Promise<HostOutcome> {
  const run = seamRun(m);
  const recs = tdxRecords(h);
  const d = recs.devices.get(dsm);
  if (!d) return refuseRun(run, 'ENXIO', `0x${dsm.toString(16)} is not connected`);
  const devifs = [...recs.devifs.values()].filter((x) => x.dsm === dsm).length;
  if (devifs > 0) return refuseRun(run, 'EBUSY', `${devifs} DEVIF(s) of the device remain`);
  const stream = { device: dsm, streamId: d.streamId };
  const block = await seamcall(run, 'TDH.IDE.STREAM.BLOCK', stream);
  if (!block.ok && !STREAM_GONE_OR_BLOCKED.includes(block.status)) return seamFailed(run, block);
  const del = await seamcall(run, 'TDH.IDE.STREAM.DELETE', stream);
  if (!del.ok && del.status !== 'TDX_IDE_STREAM_NOT_CONFIGURED') return seamFailed(run, del);
  const disconnect = await seamcall(run, 'TDH.SPDM.DISCONNECT', { device: dsm }, dsm);
  if (!disconnect.ok) return seamFailed(run, disconnect);
  const remove = await seamcall(run, 'TDH.SPDM.DELETE', { device: dsm });
  if (!remove.ok) return seamFailed(run, remove);
  tdxRecordsToWrite(h).devices.delete(dsm);
  return doneRun(run, undefined);
}
