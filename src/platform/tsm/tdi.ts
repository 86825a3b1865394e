/**
 * The TSM's TDI operations (SYSTEM.md sections 2-4): a record per TDI of a connected device
 * (TDX TDH.DEVIF.CREATE, SEV TDI_CREATE, CCA VDEV_CREATE), its binding to exactly one VM,
 * and the TDISP requests the TSM sends for it over the device's session: LOCK, the
 * interface report, START, STOP and the state. The record follows what the DSM answered;
 * which party may ask for which request is each flavour's rule, not the core's.
 */
import type { SpdmRequester } from '../../spdm/requester/index.ts';
import type { InterfaceId } from '../../wire/tdisp/header.ts';
import type { InterfaceReport } from '../../wire/tdisp/report.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import type { Platform } from '../platform.ts';
import { rootPortAssociate, rootPortDissociate } from '../root-port.ts';
import { lockTdi, startTdi, stopTdi } from './bind.ts';
import { connectedDevice } from './device.ts';
import { deviceFailure } from './device-failure.ts';
import { linkChannel, type TsmEnv, withLink } from './link.ts';
import { done, ok, refuse, type TsmResult } from './result.ts';
import type { ReportedRange, TdiStateName, TsmTdi, VmId } from './state.ts';
import { DEFAULT_LOCK_FLAGS, TdispClient } from './tdisp-client.ts';

const PAGE = 4096n;
const U64 = 1n << 64n;

/** The TDI record, or why not. */
export function tdiRecord(p: Platform, rid: number): TsmResult<TsmTdi> {
  const t = p.tsm.tdis.get(rid);
  return t ? done(t) : refuse('no-such-tdi', `no TDI record ${rid}`);
}

/** The TDI, which must be bound to `vm`. */
export function boundTdi(p: Platform, rid: number, vm: VmId): TsmResult<TsmTdi> {
  const t = tdiRecord(p, rid);
  if (!t.ok) return t;
  if (t.value.vm === undefined) return refuse('tdi-not-bound', `TDI ${rid} is not bound`);
  if (t.value.vm !== vm) return refuse('wrong-vm', `TDI ${rid} is bound to ${t.value.vm}`);
  return t;
}

function inState(t: TsmTdi, want: readonly TdiStateName[]): TsmResult {
  return want.includes(t.state)
    ? ok
    : refuse('tdi-state', `TDI ${t.rid} is ${t.state}, needs ${want.join(' or ')}`);
}

/** A record for the TDI `interfaceId` of a connected device. */
export function tsmTdiCreate(p: Platform, device: number, interfaceId: InterfaceId): TsmResult {
  const d = connectedDevice(p, device);
  if (!d.ok) return d;
  const rid = interfaceId.requesterId;
  if (p.tsm.tdis.has(rid)) return refuse('tdi-exists', `TDI ${rid} already has a record`);
  // The TDI's traffic rides the device's default stream at the root port (RID association).
  const a = rootPortAssociate(p.hw.rootPort, rid, d.value.stream.streamId);
  if (!a.result.ok) return refuse('device-error', `root port: ${a.result.reason}`);
  p.tsm.tdis.set(rid, {
    rid,
    device,
    interfaceId,
    state: 'CONFIG_UNLOCKED',
    reportingOffset: 0n,
    mmio: new Map(),
    dma: 'none',
  });
  return ok;
}

/** Binds the TDI to `vm` (SEV TDI_BIND, TDX DEVIF.CREATE's TD, CCA VDEV_CREATE's realm). */
export function tsmTdiBind(p: Platform, rid: number, vm: VmId): TsmResult {
  const t = tdiRecord(p, rid);
  if (!t.ok) return t;
  const v = p.tsm.vms.get(vm);
  if (!v) return refuse('no-such-vm', `no VM ${vm}`);
  if (t.value.vm !== undefined) return refuse('tdi-bound', `TDI ${rid} is bound to ${t.value.vm}`);
  const s = inState(t.value, ['CONFIG_UNLOCKED']);
  if (!s.ok) return s;
  t.value.vm = vm;
  v.tdis.add(rid);
  return ok;
}

/**
 * Runs `work` with a TDISP client on the session of the TDI's device; the link record is
 * saved afterwards (link.ts withLink). A device failure is a 'device-error' naming `request`.
 */
async function tdisp<T>(
  p: Platform,
  env: TsmEnv,
  t: TsmTdi,
  carrier: RequesterTransport,
  request: string,
  work: (c: TdispClient, r: SpdmRequester, sessionId: number) => Promise<T>,
): Promise<TsmResult<T>> {
  const d = connectedDevice(p, t.device);
  if (!d.ok) return d;
  const sessionId = d.value.link.sessionId;
  try {
    return done(
      await withLink(p, env, t.device, carrier, (r) =>
        work(new TdispClient(linkChannel(r, sessionId)), r, sessionId),
      ),
    );
  } catch (e) {
    return deviceFailure(e, request);
  }
}

export interface LockArgs {
  /** MMIO_REPORTING_OFFSET (default 0). */
  reportingOffset?: bigint;
  /** LOCK_INTERFACE_FLAGS (default NO_FW_UPDATE | SYSTEM_CACHE_LINE_SIZE | LOCK_MSIX). */
  flags?: number;
}

/** LOCK_INTERFACE_REQUEST for a bound TDI in CONFIG_UNLOCKED; keeps the START nonce. */
export async function tsmTdiLock(
  p: Platform,
  env: TsmEnv,
  rid: number,
  carrier: RequesterTransport,
  a: LockArgs = {},
): Promise<TsmResult> {
  const t = tdiRecord(p, rid);
  if (!t.ok) return t;
  if (t.value.vm === undefined) return refuse('tdi-not-bound', `TDI ${rid} is not bound`);
  const s = inState(t.value, ['CONFIG_UNLOCKED']);
  if (!s.ok) return s;
  const d = p.tsm.devices.get(t.value.device);
  const reportingOffset = a.reportingOffset ?? 0n;
  let nonce: Uint8Array | undefined;
  const locked = await tdisp(
    p,
    env,
    t.value,
    carrier,
    'LOCK_INTERFACE_REQUEST',
    async (c, r, session) => {
      const l = await lockTdi(c, t.value.interfaceId, {
        flags: a.flags ?? DEFAULT_LOCK_FLAGS,
        defaultStreamId: d?.stream?.streamId ?? 0,
        mmioReportingOffset: reportingOffset,
      });
      nonce = l.nonce;
      // The evidence a guest gets for this lock is read under it: signed measurements in
      // the session, after LOCK (which froze the firmware with NO_FW_UPDATE), not the ones
      // read at connect, so a firmware update between two locks shows at the second.
      await r.getMeasurements({ index: 'all', signed: true, session });
    },
  );
  // The device locked even when the measurements then failed: the record says so, and the
  // host's way out is STOP, as for any device failure.
  if (nonce !== undefined) {
    Object.assign(t.value, { state: 'CONFIG_LOCKED', nonce, reportingOffset });
  }
  return locked.ok ? ok : locked;
}

/** The report's MMIO ranges in host physical addresses. */
export function reportedRanges(report: InterfaceReport, reportingOffset: bigint): ReportedRange[] {
  return report.mmioRanges.map((r) => ({
    rangeId: r.rangeId,
    base: (((r.firstPage * PAGE - reportingOffset) % U64) + U64) % U64,
    pages: r.numberOfPages,
    msixTable: r.attributes.msixTable,
    msixPba: r.attributes.msixPba,
    nonTee: r.attributes.nonTee,
  }));
}

/** GET_DEVICE_INTERFACE_REPORT for a TDI in CONFIG_LOCKED or RUN; keeps bytes and ranges. */
export async function tsmTdiReport(
  p: Platform,
  env: TsmEnv,
  rid: number,
  carrier: RequesterTransport,
): Promise<TsmResult<{ bytes: Uint8Array; report: InterfaceReport }>> {
  const t = tdiRecord(p, rid);
  if (!t.ok) return t;
  const s = inState(t.value, ['CONFIG_LOCKED', 'RUN']);
  if (!s.ok) return s;
  const r = await tdisp(p, env, t.value, carrier, 'GET_DEVICE_INTERFACE_REPORT', (c) =>
    c.getReport(t.value.interfaceId),
  );
  if (!r.ok) return r;
  const { bytes, report } = r.value;
  t.value.report = { bytes, ranges: reportedRanges(report, t.value.reportingOffset) };
  return done({ bytes, report });
}

/** START_INTERFACE_REQUEST with LOCK's nonce: CONFIG_LOCKED -> RUN; the report must be known. */
export async function tsmTdiStart(
  p: Platform,
  env: TsmEnv,
  rid: number,
  carrier: RequesterTransport,
): Promise<TsmResult> {
  const t = tdiRecord(p, rid);
  if (!t.ok) return t;
  const s = inState(t.value, ['CONFIG_LOCKED']);
  if (!s.ok) return s;
  if (!t.value.report || !t.value.nonce) {
    return refuse('no-report', `TDI ${rid}: no interface report fetched since LOCK`);
  }
  const nonce = t.value.nonce;
  const r = await tdisp(p, env, t.value, carrier, 'START_INTERFACE_REQUEST', (c) =>
    startTdi(c, t.value.interfaceId, nonce),
  );
  if (!r.ok) return r;
  t.value.state = 'RUN';
  return ok;
}

/** GET_DEVICE_INTERFACE_STATE; the record follows the answer (a trigger may have hit ERROR). */
export async function tsmTdiState(
  p: Platform,
  env: TsmEnv,
  rid: number,
  carrier: RequesterTransport,
): Promise<TsmResult<TdiStateName>> {
  const t = tdiRecord(p, rid);
  if (!t.ok) return t;
  const s = await tdisp(p, env, t.value, carrier, 'GET_DEVICE_INTERFACE_STATE', (c) =>
    c.getState(t.value.interfaceId),
  );
  if (!s.ok) return s;
  // A TDI the TSM took to ERROR on a reported DMA fault stays there whatever the device
  // (which never saw the drop) answers: TDISP leaves ERROR only through STOP.
  t.value.state = t.value.dmaFault ? 'ERROR' : (s.value.name as TdiStateName);
  return done(t.value.state);
}

/** STOP_INTERFACE_REQUEST: -> CONFIG_UNLOCKED (the device scrubs); the nonce and report go. */
export async function tsmTdiStop(
  p: Platform,
  env: TsmEnv,
  rid: number,
  carrier: RequesterTransport,
): Promise<TsmResult> {
  const t = tdiRecord(p, rid);
  if (!t.ok) return t;
  const r = await tdisp(p, env, t.value, carrier, 'STOP_INTERFACE_REQUEST', (c) =>
    stopTdi(c, t.value.interfaceId),
  );
  if (!r.ok) return r;
  t.value.state = 'CONFIG_UNLOCKED';
  t.value.nonce = undefined;
  t.value.report = undefined;
  t.value.dmaFault = undefined;
  return ok;
}

/** Removes the record of an unbound TDI (TDX DEVIF.REMOVE's last step, CCA VDEV_DESTROY). */
export function tsmTdiDestroy(p: Platform, rid: number): TsmResult {
  const t = tdiRecord(p, rid);
  if (!t.ok) return t;
  if (t.value.vm !== undefined) return refuse('tdi-bound', `TDI ${rid} is bound to ${t.value.vm}`);
  p.tsm.tdis.delete(rid);
  rootPortDissociate(p.hw.rootPort, rid);
  return ok;
}
