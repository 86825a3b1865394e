/**
 * The end-to-end lifecycle the integration tests run against a composed TDISP device:
 * teeio's SPDM requester (VCA, chain verified against the device's root, signed
 * measurements, KEY_EXCHANGE/FINISH), the TSM's IDE_KM client for every sub-stream of
 * stream 0, and its TDISP client (lock, report checked against the BARs the host
 * programmed, start, a host config write that sends the TDI to ERROR, stop), then
 * K_SET_STOP and END_SESSION. Every step asserts what the device shows afterwards.
 */
import assert from 'node:assert/strict';
import {
  checkReport,
  connectDevice,
  endSession,
  fetchCheckedReport,
  lockTdi,
  programIdeStream,
  startTdi,
  stopIdeStream,
  stopTdi,
  TdispClient,
} from '../../../src/platform/tsm/index.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import { type RequesterSession, SpdmRequester } from '../../../src/spdm/requester/index.ts';
import type { RequesterTransport } from '../../../src/transport/types.ts';
import { assignedBars, memorySpaceEnable } from '../../../src/world/host-view.ts';
import type { TdispDevice } from '../../../src/world/tdisp-device.ts';

export const REPORTING_OFFSET = 0xd000_0000n;

/** What a host does to set or clear Memory Space Enable for a TDI (VF: its PF's VF MSE). */
function setMemorySpace(dev: TdispDevice, fn: number, on: boolean): void {
  const mse = memorySpaceEnable(dev.device, fn);
  mse.write(on ? mse.value | mse.bit : mse.value & ~mse.bit);
}

export interface FlowOptions {
  transport: RequesterTransport;
  dev: TdispDevice;
  /** Host-programmed BAR addresses, `${fn}:${bar}`. */
  addresses: Map<string, bigint>;
  /** The root the requester trusts (default: the device's own root). */
  trust?: Uint8Array;
  /** Which TDI (default the first). */
  fn?: number;
  /** Extra checks inside the established session before IDE_KM. */
  inSession?: (r: SpdmRequester, s: RequesterSession) => Promise<void>;
}

/** Runs the whole lifecycle; returns the requester (closed) for further assertions. */
export async function runLifecycle(o: FlowOptions): Promise<void> {
  const { dev } = o;
  const r = new SpdmRequester(
    o.transport,
    requesterConfig({ trustAnchors: [o.trust ?? dev.root] }),
  );
  try {
    // The TSM's bind steps (platform/tsm/bind.ts), each followed by what the device shows.
    const conn = await connectDevice(r);
    assert.ok(conn.vca.negotiated.version >= 0x12);
    assert.deepEqual(
      conn.chain.certificates[0],
      o.trust ?? dev.root,
      'chain ends in the trusted root',
    );
    assert.equal(conn.measurements.signed, true);
    assert.ok(conn.measurements.blocks.length >= 5);
    const session = conn.session;
    assert.equal(session.phase, 'established');
    await o.inSession?.(r, session);
    const ch = { requester: r, session };

    // IDE_KM: every sub-stream of stream 0 programmed and started.
    const { ide, query, keys } = await programIdeStream(ch, 0);
    assert.equal(query.portIndex, 0);
    assert.equal(keys.length, 6);
    assert.equal(new Set(keys.map((k) => `${k.subStream}.${k.direction}`)).size, 6);
    assert.equal(dev.device.streamState(0), 'Secure');

    // TDISP: lock, report checked against the BARs the host programmed, start.
    const fn = o.fn ?? dev.tdis()[0].fn;
    const tdi = dev.tdis().find((t) => t.fn === fn)!;
    const tdisp = new TdispClient(ch);
    const locked = await lockTdi(tdisp, tdi.interfaceId, { mmioReportingOffset: REPORTING_OFFSET });
    assert.deepEqual(locked.versions, [0x10]);
    assert.ok(locked.lockFlagsSupported & 0x4, 'LOCK_MSIX supported');
    assert.equal(locked.stoppedFrom, undefined, 'the TDI was CONFIG_UNLOCKED');
    assert.equal(locked.nonce.length, 32);
    assert.equal((await tdisp.getState(tdi.interfaceId)).name, 'CONFIG_LOCKED');
    const bars = assignedBars(dev.profile, o.addresses, fn);
    assert.ok(bars.length > 0);
    const { report, check } = await fetchCheckedReport(
      tdisp,
      tdi.interfaceId,
      bars,
      REPORTING_OFFSET,
    );
    assert.deepEqual(check?.mismatches, []);
    // The same report does not fit BARs moved by a page, nor another reporting offset.
    const moved = bars.map((b) => ({ ...b, address: b.address + 0x1000n }));
    assert.equal(checkReport(report, moved, REPORTING_OFFSET).ok, false);
    assert.equal(checkReport(report, bars, 0n).ok, false);
    await startTdi(tdisp, tdi.interfaceId, locked.nonce);
    assert.equal((await tdisp.getState(tdi.interfaceId)).name, 'RUN');

    // The host clears Memory Space Enable: the TDI goes to ERROR; unbind brings it back.
    setMemorySpace(dev, fn, false);
    assert.equal((await tdisp.getState(tdi.interfaceId)).name, 'ERROR');
    await stopTdi(tdisp, tdi.interfaceId);
    setMemorySpace(dev, fn, true);
    await stopIdeStream(ide, 0);
    assert.equal(dev.device.streamState(0), 'Insecure');
    await endSession(r, session);
    assert.equal(r.sessions.length, 0);
  } finally {
    await r.close();
  }
}
