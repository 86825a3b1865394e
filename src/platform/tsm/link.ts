/**
 * The TSM's SPDM link to a DSM. Firmware has no DOE mailbox of its own: on every platform
 * the untrusted host carries the TSM's messages to the device and back (TDX: the host
 * relays TDH.SPDM / TDH.DEVIF / TDH.IDE request and response buffers; SEV-TIO: the PSP
 * returns SPDM_REQUEST and the host's sev-dev-tio loop does the DOE exchange; CCA:
 * RMI_PDEV_COMMUNICATE). So each call that talks to the device takes the host's `carrier`,
 * the DOE transport the host lends for that call, and an adversarial host can drop, delay
 * or alter what it carries: the session's MACs are what protect the TSM.
 *
 * The requester engine is the spdm/ one, unchanged, driven from plain data: the engine's
 * whole state for each device (connection, transcripts, verified chains, sessions with their
 * keys and sequence numbers) is a RequesterData in the TSM's records (`TsmState.links`). Each
 * TSM call resumes a requester from that record and writes the record back when the call
 * ends (`withLink`), so structuredClone(platform) between two calls copies the sessions too,
 * and a clone driven with the same TsmEnv carries on where the original was. The env holds
 * only configuration and engines; the flavours' records name only what they need (session
 * id, chain digest).
 */
import type { RandomSource } from '../../crypto/random.ts';
import type { RequesterConfig } from '../../spdm/config.ts';
import { SpdmRequester } from '../../spdm/requester/index.ts';
import { initialRequesterData } from '../../spdm/requester/state.ts';
import type { RequesterTransport, TransportMessage } from '../../wire/transport.ts';
import { TsmProtocolError } from './errors.ts';
import type { SecuredChannel } from './pci-sig.ts';
import type { TsmState } from './state.ts';

/** A transport whose far end is the carrier the host lends for the current call. */
class CarriedTransport implements RequesterTransport {
  readonly binding: RequesterTransport['binding'];
  constructor(readonly carrier: RequesterTransport) {
    this.binding = carrier.binding;
  }

  exchange(m: TransportMessage, timeoutMs?: number): Promise<TransportMessage> {
    return this.carrier.exchange(m, timeoutMs);
  }

  // The carrier is the host's: ending a TSM call does not close it.
  async close(): Promise<void> {}
}

/** The environment the TSM runs in: its configuration and its engines, not its records. */
export interface TsmEnv {
  /** What the TSM offers and trusts as SPDM requester (trust anchors, algorithms). */
  spdm: RequesterConfig;
  /** IDE keys, nonces: the world's seeded source under a seed. */
  random: RandomSource;
}

export function createTsmEnv(spdm: RequesterConfig, random: RandomSource): TsmEnv {
  return { spdm, random };
}

/** Where the TSM keeps each device's link state. */
type LinkRecords = { tsm: Pick<TsmState, 'links'> };

/**
 * A requester for one TSM call to `device`, resumed from the device's link record (a new
 * connection when there is none), reaching the device through `carrier`. The record is
 * not updated until `linkSave`: use `withLink`, which always saves.
 */
export function linkRequester(
  p: LinkRecords,
  env: TsmEnv,
  device: number,
  carrier: RequesterTransport,
): SpdmRequester {
  const state = p.tsm.links.get(device) ?? initialRequesterData(carrier.binding);
  return SpdmRequester.resume(new CarriedTransport(carrier), env.spdm, state);
}

/** Writes the requester's state back into the device's link record (a copy: plain data). */
export function linkSave(p: LinkRecords, device: number, requester: SpdmRequester): void {
  p.tsm.links.set(device, requester.stateSnapshot());
}

/**
 * Runs `work` with the device's requester and saves its state afterwards, also when `work`
 * throws (a session the engine dropped on a failed exchange stays dropped).
 */
export async function withLink<T>(
  p: LinkRecords,
  env: TsmEnv,
  device: number,
  carrier: RequesterTransport,
  work: (requester: SpdmRequester) => Promise<T>,
): Promise<T> {
  const requester = linkRequester(p, env, device, carrier);
  try {
    return await work(requester);
  } finally {
    linkSave(p, device, requester);
  }
}

/**
 * The secured channel for a connected device's IDE_KM and TDISP messages, on `requester`.
 * @throws TsmProtocolError when the session is gone: the requester drops a session whose
 *   record may not have reached the device (a carrier that lost a message), so the device
 *   is unreachable until it is connected again; callers turn this into 'device-error'.
 */
export function linkChannel(requester: SpdmRequester, sessionId: number): SecuredChannel {
  const session = requester.sessions.find((s) => s.id === sessionId);
  if (!session) {
    throw new TsmProtocolError('SPDM', 'session', `session 0x${sessionId.toString(16)} is lost`);
  }
  return { requester, session };
}

/**
 * Whether the device's link record still holds session `sessionId`, not ended (reads the
 * record only: no requester is built).
 */
export function linkHasSession(p: LinkRecords, device: number, sessionId: number): boolean {
  const s = p.tsm.links.get(device)?.sessions.get(sessionId);
  return s !== undefined && s.secured.phase !== 'ended';
}

/** Forgets the device's link state (after END_SESSION, or when the device is destroyed). */
export function dropLink(p: LinkRecords, device: number): void {
  p.tsm.links.delete(device);
}
