/**
 * The TSM's device operations (SYSTEM.md section 3 "TSM firmware", section 4 step 1): a
 * record for a DSM (TDX TDH.SPDM.CREATE, SEV DEV_CREATE, CCA PDEV_CREATE), its connection
 * (SPDM: VCA, certificate, signed measurements, KEY_EXCHANGE + FINISH; then IDE_KM keys
 * for every sub-stream of the default stream), and its disconnection (K_SET_STOP,
 * END_SESSION), which no TDI may outlive.
 */
import type { RequesterTransport } from '../../wire/transport.ts';
import type { Platform } from '../platform.ts';
import { rootPortKeyProg, rootPortKeySetGo, rootPortKeySetStop } from '../root-port.ts';
import { connectDevice, endSession, programIdeStream, stopIdeStream } from './bind.ts';
import { deviceFailure } from './device-failure.ts';
import { IdeKmClient, type ProgrammedKey, streamSlots } from './ide-km-client.ts';
import { dropLink, linkChannel, linkRequester, linkSave, type TsmEnv, withLink } from './link.ts';
import { done, ok, refuse, type TsmResult } from './result.ts';
import type { TsmDevice } from './state.ts';

/** A record for the DSM at requester id `rid` (function 0). */
export function tsmDeviceCreate(p: Platform, rid: number): TsmResult {
  if (p.tsm.devices.has(rid)) return refuse('device-exists', `device ${rid} already has a record`);
  p.tsm.devices.set(rid, { rid, phase: 'created' });
  return ok;
}

/** What a connection learnt about the device. */
export interface ConnectInfo {
  sessionId: number;
  chainDigest: Uint8Array;
  /** Every measurement block, signed. */
  measurementBlocks: number;
  streamId: number;
}

/**
 * Connects: the SPDM session and the IDE stream's keys at the device. `streamId` is the
 * default stream every TDI of the device uses.
 */
export async function tsmConnect(
  p: Platform,
  env: TsmEnv,
  rid: number,
  carrier: RequesterTransport,
  streamId = 0,
): Promise<TsmResult<ConnectInfo>> {
  const d = p.tsm.devices.get(rid);
  if (!d) return refuse('no-such-device', `no device record ${rid}`);
  if (d.phase === 'connected') return refuse('device-connected', `device ${rid} is connected`);
  const requester = linkRequester(p, env, rid, carrier);
  try {
    const c = await connectDevice(requester);
    const { keys } = await programIdeStream(c, streamId, { random: env.random });
    programRootPort(p, streamId, keys);
    const link = {
      sessionId: c.session.id,
      chainDigest: c.chain.hash,
      version: c.vca.negotiated.version,
    };
    linkSave(p, rid, requester);
    p.tsm.devices.set(rid, {
      ...d,
      phase: 'connected',
      link,
      stream: { streamId, state: 'secure' },
    });
    return done({
      sessionId: link.sessionId,
      chainDigest: link.chainDigest,
      measurementBlocks: c.measurements.blocks.length,
      streamId,
    });
  } catch (e) {
    // Nothing half-connected stays behind: the engine ends a session that did not finish.
    await requester.close().catch(() => undefined);
    dropLink(p, rid);
    return deviceFailure(e, 'connect');
  }
}

/**
 * The root port's end of the stream gets the same keys: what the device receives on a
 * sub-stream the root port transmits, and the other way round.
 */
function programRootPort(p: Platform, streamId: number, keys: ProgrammedKey[]): void {
  for (const k of keys) {
    const slot = { ...k, direction: k.direction === 'RX' ? 'TX' : 'RX' } as const;
    const r = rootPortKeyProg(p.hw.rootPort, streamId, slot);
    if (!r.result.ok) throw new Error(`root port KEY_PROG: ${r.result.reason}`);
    rootPortKeySetGo(p.hw.rootPort, streamId, slot);
  }
}

/** K_SET_STOP of every slot of the stream at the root port. */
function stopRootPort(p: Platform, streamId: number): void {
  for (const slot of streamSlots(0)) rootPortKeySetStop(p.hw.rootPort, streamId, slot);
}

/** The connected device, or why not. */
export function connectedDevice(p: Platform, rid: number): TsmResult<Required<TsmDevice>> {
  const d = p.tsm.devices.get(rid);
  if (!d) return refuse('no-such-device', `no device record ${rid}`);
  if (d.phase !== 'connected' || !d.link || !d.stream) {
    return refuse('device-not-connected', `device ${rid} is ${d.phase}`);
  }
  return done(d as Required<TsmDevice>);
}

/**
 * Disconnects: K_SET_STOP of the stream, END_SESSION. Refused while any TDI of the device
 * is bound to a VM. The record stays, 'disconnected', even when the device did not answer:
 * the TSM forgets the keys and the session either way.
 */
export async function tsmDisconnect(
  p: Platform,
  env: TsmEnv,
  rid: number,
  carrier: RequesterTransport,
): Promise<TsmResult> {
  const c = connectedDevice(p, rid);
  if (!c.ok) return c;
  const d = c.value;
  for (const t of p.tsm.tdis.values()) {
    if (t.device === rid && t.vm !== undefined) {
      return refuse('device-has-tdis', `TDI ${t.rid} is bound to ${t.vm}`);
    }
  }
  let failure: TsmResult | undefined;
  try {
    await withLink(p, env, rid, carrier, async (requester) => {
      const ch = linkChannel(requester, d.link.sessionId);
      await stopIdeStream(new IdeKmClient(ch, { random: env.random }), d.stream.streamId);
      await endSession(ch.requester, ch.session);
    });
  } catch (e) {
    failure = deviceFailure(e, 'disconnect');
  }
  dropLink(p, rid);
  stopRootPort(p, d.stream.streamId);
  p.tsm.devices.set(rid, { rid, phase: 'disconnected' });
  return failure ?? ok;
}

/** Removes the device's record (TDX TDH.SPDM.DELETE, CCA PDEV_DESTROY): no TDI may remain. */
export function tsmDeviceDestroy(p: Platform, _env: TsmEnv, rid: number): TsmResult {
  const d = p.tsm.devices.get(rid);
  if (!d) return refuse('no-such-device', `no device record ${rid}`);
  if (d.phase === 'connected') return refuse('device-connected', `device ${rid} is connected`);
  for (const t of p.tsm.tdis.values()) {
    if (t.device === rid) return refuse('device-has-tdis', `TDI ${t.rid} still has a record`);
  }
  p.tsm.devices.delete(rid);
  dropLink(p, rid);
  return ok;
}
