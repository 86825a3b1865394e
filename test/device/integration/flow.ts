/**
 * The end-to-end lifecycle the integration tests run against a composed TDISP device:
 * teeio's SPDM requester (VCA, chain verified against the device's root, signed
 * measurements, KEY_EXCHANGE/FINISH), the TSM's IDE_KM client for every sub-stream of
 * stream 0, and its TDISP client (lock, report checked against the BARs the host
 * programmed, start, a host config write that sends the TDI to ERROR, stop), then
 * K_SET_STOP and END_SESSION. Every step asserts what the device shows afterwards.
 */
import assert from 'node:assert/strict';
import { walkExtCapabilities } from '../../../src/device/pci/config-space.ts';
import {
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  PCI_EXT_CAP_ID_SRIOV,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_MSE,
} from '../../../src/device/pci/regs.ts';
import {
  type AssignedBar,
  checkReport,
  IdeKmClient,
  TdispClient,
} from '../../../src/platform/tsm/index.ts';
import { requesterConfig } from '../../../src/spdm/config.ts';
import { type RequesterSession, SpdmRequester } from '../../../src/spdm/requester/index.ts';
import type { RequesterTransport } from '../../../src/transport/types.ts';
import type { TdispDevice } from '../../../src/world/tdisp-device.ts';

export const REPORTING_OFFSET = 0xd000_0000n;

/** The BARs of `fn` as the host programmed them (its own record) with the profile's sizes. */
export function assignedBars(
  dev: TdispDevice,
  addresses: Map<string, bigint>,
  fn: number,
): AssignedBar[] {
  const out: AssignedBar[] = [];
  for (const f of dev.profile.functions) {
    const isPf = f.fn === fn;
    const isVf =
      f.sriov !== undefined &&
      fn >= f.fn + f.sriov.firstVfOffset &&
      (fn - f.fn - f.sriov.firstVfOffset) % f.sriov.vfStride === 0;
    const bars = isPf ? f.bars : isVf ? f.sriov!.vf.bars : [];
    for (const b of bars) {
      const address = addresses.get(`${fn}:${b.index}`);
      if (!b.io && address !== undefined) out.push({ index: b.index, address, size: b.size });
    }
  }
  return out;
}

/** What a host does to set or clear Memory Space Enable for a TDI (VF: the PF's VF MSE). */
export function setMemorySpace(dev: TdispDevice, fn: number, on: boolean): void {
  const d = dev.device;
  const flip = (f: number, off: number, bit: number) => {
    const v = d.configRead(f, off, 2);
    d.configWrite(f, off, 2, on ? v | bit : v & ~bit);
  };
  if (dev.profile.functions.some((f) => f.fn === fn)) {
    flip(fn, PCI_COMMAND, PCI_COMMAND_MEMORY);
    return;
  }
  const owner = dev.profile.functions.find((f) => f.sriov)!;
  const cap = walkExtCapabilities((o, s) => d.configRead(owner.fn, o, s)).find(
    (c) => c.id === PCI_EXT_CAP_ID_SRIOV,
  )!;
  flip(owner.fn, cap.offset + PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_MSE);
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
    const vca = await r.connect();
    assert.ok(vca.negotiated.version >= 0x12);
    await r.getDigests();
    const chain = await r.getCertificate(0);
    assert.deepEqual(chain.certificates[0], o.trust ?? dev.root, 'chain ends in the trusted root');
    const meas = await r.getMeasurements({ index: 'all', signed: true });
    assert.equal(meas.signed, true);
    assert.ok(meas.blocks.length >= 5);

    const session = await r.startSession();
    assert.equal(session.phase, 'established');
    await o.inSession?.(r, session);
    const ch = { requester: r, session };

    // IDE_KM: every sub-stream of stream 0 programmed and started.
    const ide = new IdeKmClient(ch);
    const q = await ide.query();
    assert.equal(q.portIndex, 0);
    const keys = await ide.setupStream(0);
    assert.equal(keys.length, 6);
    assert.equal(new Set(keys.map((k) => `${k.subStream}.${k.direction}`)).size, 6);
    assert.equal(dev.device.streamState(0), 'Secure');

    // TDISP: version, capabilities, lock, report + check, start.
    const fn = o.fn ?? dev.tdis()[0].fn;
    const tdi = dev.tdis().find((t) => t.fn === fn)!;
    const tdisp = new TdispClient(ch);
    assert.deepEqual(await tdisp.getVersion(tdi.interfaceId), [0x10]);
    const caps = await tdisp.getCapabilities(tdi.interfaceId);
    assert.ok(caps.lockInterfaceFlagsSupported & 0x4, 'LOCK_MSIX supported');
    assert.equal((await tdisp.getState(tdi.interfaceId)).name, 'CONFIG_UNLOCKED');
    const nonce = await tdisp.lock(tdi.interfaceId, { mmioReportingOffset: REPORTING_OFFSET });
    assert.equal(nonce.length, 32);
    assert.equal((await tdisp.getState(tdi.interfaceId)).name, 'CONFIG_LOCKED');
    const { report } = await tdisp.getReport(tdi.interfaceId);
    const bars = assignedBars(dev, o.addresses, fn);
    assert.ok(bars.length > 0);
    const check = checkReport(report, bars, REPORTING_OFFSET);
    assert.deepEqual(check.mismatches, []);
    // The same report does not fit BARs moved by a page, nor another reporting offset.
    const moved = bars.map((b) => ({ ...b, address: b.address + 0x1000n }));
    assert.equal(checkReport(report, moved, REPORTING_OFFSET).ok, false);
    assert.equal(checkReport(report, bars, 0n).ok, false);
    await tdisp.start(tdi.interfaceId, nonce);
    assert.equal((await tdisp.getState(tdi.interfaceId)).name, 'RUN');

    // The host clears Memory Space Enable: the TDI goes to ERROR; STOP brings it back.
    setMemorySpace(dev, fn, false);
    assert.equal((await tdisp.getState(tdi.interfaceId)).name, 'ERROR');
    await tdisp.stop(tdi.interfaceId);
    assert.equal((await tdisp.getState(tdi.interfaceId)).name, 'CONFIG_UNLOCKED');
    setMemorySpace(dev, fn, true);

    // IDE_KM K_SET_STOP on every sub-stream; END_SESSION.
    await ide.stopStream(0);
    assert.equal(dev.device.streamState(0), 'Insecure');
    await r.endSession(session);
    assert.equal(r.sessions.length, 0);
  } finally {
    await r.close();
  }
}
