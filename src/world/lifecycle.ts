/**
 * The built-in default scenario: one TDI's whole TDISP lifecycle (SYSTEM.md section 4)
 * from the TSM's side against teeio's device, through function 0's real DOE mailbox
 * registers, and what the untrusted host can and cannot do to it on the way:
 *
 *   1 tsm/connect   SPDM (VCA, certificate, measurements, KEY_EXCHANGE/FINISH) + IDE_KM keys
 *   2 lock          TDISP LOCK_INTERFACE_REQUEST -> CONFIG_LOCKED
 *   3 attest        interface report checked against the BARs enumeration assigned
 *   4 accept        START_INTERFACE_REQUEST -> RUN; T=1 MMIO now reaches the TDI
 *   5 host attack   the host clears Memory Space Enable: an ERROR trigger
 *   6 unbind        STOP_INTERFACE_REQUEST scrubs, IDE_KM K_SET_STOP, END_SESSION
 *
 * Every step records checks in the trace; a failed check means the model broke a
 * security property of SYSTEM.md section 5.
 */

import { defaultRandom, type RandomSource, seededRandom } from '../crypto/random.ts';
import type { BehaviourName } from '../device/dsm/behaviour.ts';
import { formatBdf } from '../device/pci/bdf.ts';
import type { DeviceProfile } from '../device/pci/profile.ts';
import {
  connectDevice,
  endSession,
  fetchCheckedReport,
  lockTdi,
  programIdeStream,
  startTdi,
  stopIdeStream,
  TdispClient,
  TsmProtocolError,
} from '../platform/tsm/index.ts';
import { requesterConfig } from '../spdm/config.ts';
import type { SessionSecretsSink } from '../spdm/keylog.ts';
import { SpdmRequester } from '../spdm/requester/index.ts';
import type { WireTap } from '../transport/types.ts';
import { toHex } from '../wire/hex.ts';
import type { InterfaceId } from '../wire/tdisp/messages.ts';
import { ScenarioError } from './errors.ts';
import { assignedBars, memorySpaceEnable } from './host-view.ts';
import type { DeviceIdentity } from './tdisp-device.ts';
import { createTdispDevice } from './tdisp-device.ts';
import { Trace } from './trace.ts';

export interface LifecycleOptions {
  profile?: DeviceProfile;
  /** Function number of the TDI to take through its life (default: the first TDI). */
  tdiFn?: number;
  /**
   * DSM behaviour: 'spec' (the PCIe text) or 'spdm-emu' (the sample responder, which never
   * enters ERROR: the host-attack checks then fail, which is the point of running it).
   */
  behaviour?: BehaviourName;
  /** Seed for every random value (nonces, keys, session ids); default: the OS RNG. */
  seed?: string;
  identity?: DeviceIdentity;
  /** MMIO_REPORTING_OFFSET the TSM asks for in LOCK (default 0). */
  mmioReportingOffset?: bigint;
  /** Sees every DOE object crossing function 0's mailbox (pcap export). */
  onWire?: WireTap;
  /** Receives the TSM's session secrets (key log export, spdm/keylog.ts). */
  onSessionSecrets?: SessionSecretsSink;
  trace?: Trace;
}

export interface LifecycleResult {
  trace: Trace;
  tdi: { fn: number; interfaceId: InterfaceId };
  /** False when a check failed, the DSM hit an internal error, or a bind step failed. */
  ok: boolean;
}

const PATTERN = new TextEncoder().encode('guest secret in device memory');

/** Runs the default lifecycle; resolves with the trace (never throws for a failed check). */
export async function runLifecycle(o: LifecycleOptions = {}): Promise<LifecycleResult> {
  const trace = o.trace ?? new Trace();
  const random: RandomSource = o.seed ? seededRandom(o.seed, 'teeio lifecycle') : defaultRandom;
  const dev = await createTdispDevice({
    profile: o.profile,
    identity: o.identity,
    behaviour: o.behaviour,
    enumerate: true, // platform firmware assigned BARs and enabled memory before the host runs
    random,
    onDsmEvent: trace.dsmSink(),
  });
  const tdis = dev.tdis();
  const tdi = tdis.find((t) => t.fn === (o.tdiFn ?? tdis[0]?.fn));
  if (!tdi) {
    throw new ScenarioError(
      `--tdi: no TDI at function ${o.tdiFn}: the ${dev.profile.name} profile has ${tdis.map((t) => t.fn).join(', ') || 'none'}`,
    );
  }
  const name = formatBdf(tdi.requesterId);
  const offset = o.mmioReportingOffset ?? 0n;
  const requester = new SpdmRequester(
    dev.doeTransport({ onWire: o.onWire }),
    requesterConfig({
      trustAnchors: [dev.root],
      random,
      onEvent: trace.spdmSink(),
      onSessionSecrets: o.onSessionSecrets,
    }),
  );

  trace.step(`tsm/connect: SPDM session and IDE keys, over ${name.slice(0, 5)}.0's DOE mailbox`);
  const ch = await connectDevice(requester);
  const { session } = ch;
  const ide = await programIdeStream(ch, 0, { random });
  trace.check(
    'IDE stream 0 keyed in both directions',
    ide.keys.length === 6,
    `${ide.keys.length} sub-stream keys`,
  );

  const tdisp = new TdispClient(ch);
  const bars = assignedBars(dev.profile, dev.enumerated ?? new Map(), tdi.fn);
  trace.step(`lock: TDISP LOCK_INTERFACE_REQUEST for TDI ${name}`);
  const beforeLock = dev.device.mmioWrite(tdi.fn, bars[0].index, 0, PATTERN, { t: true });
  trace.guest(`MMIO write T=1 to ${name} BAR${bars[0].index} before LOCK`, beforeLock.status);
  trace.check('T=1 MMIO is refused before RUN', beforeLock.status === 'UR');
  let nonce: Uint8Array;
  let teeRange: { bar: number; offset: bigint } | undefined;
  try {
    nonce = (await lockTdi(tdisp, tdi.interfaceId, { mmioReportingOffset: offset })).nonce;
    trace.check('TDI is CONFIG_LOCKED', true);

    trace.step('attest: the interface report against the BARs the host assigned at enumeration');
    const { report, check } = await fetchCheckedReport(tdisp, tdi.interfaceId, bars, offset);
    trace.check(
      'report MMIO ranges match the assigned BARs',
      true,
      `${report.mmioRanges.length} ranges`,
    );
    // A TEE range to use: not the MSI-X table or PBA, not non-TEE.
    teeRange = check?.placed.find((p) => {
      const a = report.mmioRanges[p.range].attributes;
      return !a.msixTable && !a.msixPba && !a.nonTee;
    });

    trace.step('accept: START_INTERFACE_REQUEST with the nonce from LOCK');
    await startTdi(tdisp, tdi.interfaceId, nonce);
    trace.check('TDI is RUN', true);
  } catch (e) {
    // A bind step the device failed (wrong state, report mismatch): the TSM stops there.
    if (!(e instanceof TsmProtocolError)) throw e;
    trace.check(`bind: ${e.request}`, false, e.detail);
    await requester.close();
    return { trace, tdi: { fn: tdi.fn, interfaceId: tdi.interfaceId }, ok: false };
  }
  let scrubTarget: { bar: number; offset: bigint } | undefined;
  if (teeRange) {
    scrubTarget = { bar: teeRange.bar, offset: teeRange.offset };
    const w = dev.device.mmioWrite(tdi.fn, teeRange.bar, teeRange.offset, PATTERN, { t: true });
    trace.guest(
      `MMIO write T=1 to ${name} BAR${teeRange.bar}+0x${teeRange.offset.toString(16)}`,
      w.status,
    );
    trace.check('T=1 MMIO to a TEE range succeeds in RUN', w.status === 'SC');
    const r0 = dev.device.mmioRead(tdi.fn, teeRange.bar, teeRange.offset, 4, { t: false });
    trace.host(`MMIO read T=0 of the same range`, r0.status);
    trace.check('T=0 MMIO to a TEE range is refused in RUN', r0.status === 'UR');
  }

  trace.step(`host attack: clear Memory Space Enable for ${name} (an ERROR trigger)`);
  const mse = memorySpaceEnable(dev.device, tdi.fn);
  mse.write(mse.value & ~mse.bit);
  trace.host(
    `config write ${mse.where} 0x${mse.value.toString(16).padStart(4, '0')} -> 0x${(mse.value & ~mse.bit).toString(16).padStart(4, '0')}`,
    'completed',
  );
  trace.check(
    'TDI is ERROR after the trigger',
    (await tdisp.getState(tdi.interfaceId)).name === 'ERROR',
  );
  mse.write(mse.value);
  trace.host(
    `config write ${mse.where} back to 0x${mse.value.toString(16).padStart(4, '0')}`,
    'completed',
  );
  if (scrubTarget) {
    const t1 = dev.device.mmioRead(tdi.fn, scrubTarget.bar, scrubTarget.offset, 4, { t: true });
    trace.guest('MMIO read T=1 after ERROR', t1.status);
    trace.check('a TDI in ERROR takes no T=1 traffic', t1.status === 'UR');
  }
  let startAgain = 'refused';
  try {
    await tdisp.start(tdi.interfaceId, nonce);
    startAgain = 'accepted';
  } catch (e) {
    startAgain = (e as Error).message;
  }
  trace.check('START from ERROR is refused', startAgain !== 'accepted', startAgain);

  trace.step('unbind: STOP_INTERFACE_REQUEST, IDE_KM K_SET_STOP, END_SESSION');
  await tdisp.stop(tdi.interfaceId);
  trace.check(
    'TDI is CONFIG_UNLOCKED after STOP',
    (await tdisp.getState(tdi.interfaceId)).name === 'CONFIG_UNLOCKED',
  );
  if (scrubTarget) {
    const r = dev.device.mmioRead(tdi.fn, scrubTarget.bar, scrubTarget.offset, PATTERN.length, {
      t: false,
    });
    const clean = r.status === 'SC' && r.data.every((b) => b === 0);
    trace.host(
      'host MMIO read T=0 of the range the guest wrote',
      r.status === 'SC' ? toHex(r.data.subarray(0, 8)) : r.status,
    );
    trace.check('guest data scrubbed after STOP', clean);
  }
  await stopIdeStream(ide.ide, 0);
  await endSession(requester, session);
  await requester.close();

  return {
    trace,
    tdi: { fn: tdi.fn, interfaceId: tdi.interfaceId },
    // INTERNAL_ERROR events are failed checks too (Trace.dsmSink).
    ok: trace.failedChecks.length === 0,
  };
}
