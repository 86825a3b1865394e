/**
 * The TSM's SPDM link to a DSM. Firmware has no DOE mailbox of its own: on every platform
 * the untrusted host carries the TSM's messages to the device and back (TDX: the host
 * relays TDH.SPDM / TDH.DEVIF / TDH.IDE request and response buffers; SEV-TIO: the PSP
 * returns SPDM_REQUEST and the host's sev-dev-tio loop does the DOE exchange; CCA:
 * RMI_PDEV_COMMUNICATE). So each call that talks to the device takes the host's `carrier`,
 * the DOE transport the host lends for that call, and an adversarial host can drop, delay
 * or alter what it carries: the session's MACs are what protect the TSM.
 *
 * The requester engine is the spdm/ one, unchanged. Its state is held per device in
 * `TsmEnv.links` beside the plain-data TsmState (the engine's sessions carry their own
 * key material); the state records only what the flavours need (session id, chain digest).
 */
import type { RandomSource } from '../../crypto/random.ts';
import type { RequesterConfig } from '../../spdm/config.ts';
import { SpdmRequester } from '../../spdm/requester/index.ts';
import type { RequesterTransport, TransportMessage } from '../../wire/transport.ts';
import { TsmProtocolError } from './errors.ts';
import type { SecuredChannel } from './pci-sig.ts';

/** A transport whose far end is whatever the host lends for the current call. */
class CarriedTransport implements RequesterTransport {
  carrier: RequesterTransport | undefined;
  constructor(readonly binding: RequesterTransport['binding']) {}

  exchange(m: TransportMessage, timeoutMs?: number): Promise<TransportMessage> {
    if (!this.carrier) return Promise.reject(new Error('no host carrier lent for this call'));
    return this.carrier.exchange(m, timeoutMs);
  }

  async close(): Promise<void> {}
}

interface LinkEngine {
  requester: SpdmRequester;
  transport: CarriedTransport;
}

/** The environment the TSM runs in: its configuration and its engines, not its records. */
export interface TsmEnv {
  /** What the TSM offers and trusts as SPDM requester (trust anchors, algorithms). */
  spdm: RequesterConfig;
  /** IDE keys, nonces: the world's seeded source under a seed. */
  random: RandomSource;
  /** One SPDM requester per DSM (keyed by the requester id of function 0). */
  links: Map<number, LinkEngine>;
}

export function createTsmEnv(spdm: RequesterConfig, random: RandomSource): TsmEnv {
  return { spdm, random, links: new Map() };
}

/** The device's requester, created on first use, reaching the device through `carrier`. */
export function linkRequester(
  env: TsmEnv,
  device: number,
  carrier: RequesterTransport,
): SpdmRequester {
  let e = env.links.get(device);
  if (!e) {
    const transport = new CarriedTransport(carrier.binding);
    e = { requester: new SpdmRequester(transport, env.spdm), transport };
    env.links.set(device, e);
  }
  e.transport.carrier = carrier;
  return e.requester;
}

/**
 * The secured channel for a connected device's IDE_KM and TDISP messages.
 * @throws TsmProtocolError when the session is gone: the requester drops a session whose
 *   record may not have reached the device (a carrier that lost a message), so the device
 *   is unreachable until it is connected again; callers turn this into 'device-error'.
 */
export function linkChannel(
  env: TsmEnv,
  device: number,
  sessionId: number,
  carrier: RequesterTransport,
): SecuredChannel {
  const requester = linkRequester(env, device, carrier);
  const session = requester.sessions.find((s) => s.id === sessionId);
  if (!session) {
    throw new TsmProtocolError('SPDM', 'session', `session 0x${sessionId.toString(16)} is lost`);
  }
  return { requester, session };
}

/** Forgets the device's requester (after END_SESSION, or when the device is destroyed). */
export function dropLink(env: TsmEnv, device: number): void {
  env.links.delete(device);
}
