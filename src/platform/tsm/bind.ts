/**
 * The TSM's bind and unbind of one TDI (SYSTEM.md section 4; PCIe 6.x 6.33.3 IDE_KM and
 * chapter 11 TDISP), one function per step so that every caller (the demo lifecycle, the
 * `teeio requester` TSM steps, the integration tests) runs the same sequence:
 *
 *   bind:   connectDevice (SPDM: VCA, certificate, signed measurements, KEY_EXCHANGE/FINISH)
 *           -> programIdeStream (QUERY, KEY_PROG + K_SET_GO)
 *           -> lockTdi (LOCK_INTERFACE_REQUEST -> CONFIG_LOCKED)
 *           -> fetchCheckedReport (GET_DEVICE_INTERFACE_REPORT, checked against the BARs)
 *           -> startTdi (START_INTERFACE_REQUEST -> RUN)
 *   unbind: stopTdi (STOP_INTERFACE_REQUEST -> CONFIG_UNLOCKED) -> stopIdeStream (K_SET_STOP)
 *           -> endSession (END_SESSION)
 *
 * A step whose device does not end in the state the step asks for fails with
 * TsmProtocolError naming GET_DEVICE_INTERFACE_STATE; the clients' own errors pass through.
 */
import type { RandomSource } from '../../crypto/random.ts';
import type {
  ConnectResult,
  MeasurementsResult,
  PeerChain,
  RequesterSession,
  SpdmRequester,
} from '../../spdm/requester/index.ts';
import type { IdeKmQueryResp } from '../../wire/idekm/messages.ts';
import type { InterfaceReport } from '../../wire/tdisp/report.ts';
import {
  type AssignedBar,
  checkReport,
  type ReportCheckResult,
} from '../../wire/tdisp/report-ranges.ts';
import { TsmProtocolError } from './errors.ts';
import { IdeKmClient, type ProgrammedKey } from './ide-km-client.ts';
import type { SecuredChannel } from './pci-sig.ts';
import type { LockOptions, TdiRef, TdispClient } from './tdisp-client.ts';

export interface DeviceConnection extends SecuredChannel {
  vca: ConnectResult;
  chain: PeerChain;
  measurements: MeasurementsResult;
}

/**
 * tsm/connect, SPDM part: VCA, GET_DIGESTS, GET_CERTIFICATE slot 0 (verified against the
 * requester's trust anchors), signed GET_MEASUREMENTS of every block, then a secured session.
 * @throws the SPDM requester's errors.
 */
export async function connectDevice(requester: SpdmRequester): Promise<DeviceConnection> {
  const vca = await requester.connect();
  await requester.getDigests();
  const chain = await requester.getCertificate(0);
  const measurements = await requester.getMeasurements({ index: 'all', signed: true });
  const session = await requester.startSession();
  return { requester, session, vca, chain, measurements };
}

export interface ProgrammedStream {
  ide: IdeKmClient;
  query: IdeKmQueryResp;
  keys: ProgrammedKey[];
}

/**
 * tsm/connect, IDE part: QUERY, then KEY_PROG + K_SET_GO of fresh keys for every sub-stream
 * (PR, NPR, CPL) x direction of `streamId`, key set 0.
 * @throws IdeKmAckError, TsmProtocolError, the SPDM errors.
 */
export async function programIdeStream(
  ch: SecuredChannel,
  streamId: number,
  opts: { random?: RandomSource } = {},
): Promise<ProgrammedStream> {
  const ide = new IdeKmClient(ch, { random: opts.random });
  const query = await ide.query();
  const keys = await ide.setupStream(streamId);
  return { ide, query, keys };
}

/** @throws TsmProtocolError when the TDI is not in `want`. */
async function expectState(t: TdispClient, tdi: TdiRef, want: string): Promise<void> {
  const s = await t.getState(tdi);
  if (s.name !== want) {
    throw new TsmProtocolError(
      'TDISP',
      'GET_DEVICE_INTERFACE_STATE',
      `${s.name}, expected ${want}`,
    );
  }
}

export interface LockedTdi {
  /** GET_TDISP_VERSION's list. */
  versions: number[];
  /** LOCK_INTERFACE_FLAGS_SUPPORTED of GET_TDISP_CAPABILITIES. */
  lockFlagsSupported: number;
  /** The state the TDI was found in when it was not CONFIG_UNLOCKED (it was stopped first). */
  stoppedFrom?: string;
  /** START_INTERFACE_NONCE, for startTdi. */
  nonce: Uint8Array;
}

/**
 * lock: GET_TDISP_VERSION, GET_TDISP_CAPABILITIES, the state (a TDI left CONFIG_LOCKED, RUN
 * or ERROR is stopped first), LOCK_INTERFACE_REQUEST, then the state must be CONFIG_LOCKED.
 * @throws TdispErrorResponse, TsmProtocolError, the SPDM errors.
 */
export async function lockTdi(t: TdispClient, tdi: TdiRef, lock: LockOptions): Promise<LockedTdi> {
  const versions = await t.getVersion(tdi);
  const caps = await t.getCapabilities(tdi);
  const before = await t.getState(tdi);
  let stoppedFrom: string | undefined;
  if (before.name !== 'CONFIG_UNLOCKED') {
    await t.stop(tdi);
    stoppedFrom = before.name;
  }
  const nonce = await t.lock(tdi, lock);
  await expectState(t, tdi, 'CONFIG_LOCKED');
  return { versions, lockFlagsSupported: caps.lockInterfaceFlagsSupported, stoppedFrom, nonce };
}

export interface CheckedReport {
  bytes: Uint8Array;
  report: InterfaceReport;
  /** Undefined when no BARs were given to check against. */
  check?: ReportCheckResult;
}

/**
 * attest: GET_DEVICE_INTERFACE_REPORT, checked against the BARs the host assigned (with the
 * MMIO_REPORTING_OFFSET the LOCK asked for). Without `bars` the report is only fetched.
 * @throws TsmProtocolError (request 'report check') when the report does not match `bars`;
 *   TdispErrorResponse, TsmProtocolError, the SPDM errors.
 */
export async function fetchCheckedReport(
  t: TdispClient,
  tdi: TdiRef,
  bars: AssignedBar[] | undefined,
  reportingOffset: bigint,
): Promise<CheckedReport> {
  const { bytes, report } = await t.getReport(tdi);
  if (!bars) return { bytes, report };
  const check = checkReport(report, bars, reportingOffset);
  if (!check.ok) {
    const detail = check.mismatches.map((m) => m.message).join('; ');
    throw new TsmProtocolError('TDISP', 'report check', detail);
  }
  return { bytes, report, check };
}

/**
 * accept: START_INTERFACE_REQUEST with LOCK's nonce; the state must then be RUN.
 * @throws TdispErrorResponse, TsmProtocolError, the SPDM errors.
 */
export async function startTdi(t: TdispClient, tdi: TdiRef, nonce: Uint8Array): Promise<void> {
  await t.start(tdi, nonce);
  await expectState(t, tdi, 'RUN');
}

/**
 * unbind, TDISP part: STOP_INTERFACE_REQUEST (the device scrubs); the state must then be
 * CONFIG_UNLOCKED.
 * @throws TdispErrorResponse, TsmProtocolError, the SPDM errors.
 */
export async function stopTdi(t: TdispClient, tdi: TdiRef): Promise<void> {
  await t.stop(tdi);
  await expectState(t, tdi, 'CONFIG_UNLOCKED');
}

/**
 * unbind, IDE part: K_SET_STOP of every key of `streamId` (the stream goes Insecure).
 * @throws TsmProtocolError, the SPDM errors.
 */
export async function stopIdeStream(ide: IdeKmClient, streamId: number): Promise<void> {
  await ide.stopStream(streamId);
}

/**
 * unbind, SPDM part: END_SESSION.
 * @throws the SPDM requester's errors.
 */
export async function endSession(
  requester: SpdmRequester,
  session: RequesterSession,
): Promise<void> {
  await requester.endSession(session);
}
