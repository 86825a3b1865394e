/**
 * RMI commands on a PDEV (RMM specification 1.1, A9.2 "Physical device object", B4.5
 * RMI_PDEV_CREATE / COMMUNICATE / SET_PUBKEY / GET_STATE / STOP / DESTROY):
 *
 *   NULL -CREATE-> PDEV_NEW -COMMUNICATE-> PDEV_NEEDS_KEY -SET_PUBKEY-> PDEV_HAS_KEY
 *        -COMMUNICATE-> PDEV_READY -STOP-> PDEV_STOPPING -COMMUNICATE-> PDEV_STOPPED
 *        -DESTROY-> NULL;   a fatal device error in COMMUNICATE -> PDEV_ERROR -STOP-> ...
 *
 * The RMM has no mailbox: each device transaction waits (comm_state DEV_COMM_PENDING) until
 * the Host carries it with RMI_PDEV_COMMUNICATE, lending its DOE mailbox as the `carrier`.
 * In PDEV_NEW the transaction reads the certificate chain (VCA, GET_DIGESTS,
 * GET_CERTIFICATE) and the RMM keeps its digest; the Host, which caches the chain, hands the
 * RMM the leaf's public key (SET_PUBKEY); in PDEV_HAS_KEY the transaction is the core's
 * connect (the SPDM session, then the IDE keys), whose KEY_EXCHANGE signature the RMM checks
 * against that key: a chain or key other than the ones recorded sends the PDEV to
 * PDEV_ERROR. In PDEV_STOPPING it is the core's disconnect (K_SET_STOP, END_SESSION).
 */
import { createPublicKey } from 'node:crypto';
import type { RequesterTransport } from '../../wire/transport.ts';
import type { AbiOutcome } from '../abi.ts';
import type { Platform } from '../platform.ts';
import { tsmConnect, tsmDeviceCreate, tsmDeviceDestroy, tsmDisconnect } from '../tsm/device.ts';
import { deviceFailure } from '../tsm/device-failure.ts';
import { dropLink, linkRequester, linkSave, type TsmEnv } from '../tsm/link.ts';
import { forgetLostLink, sessionLost } from './link-lost.ts';
import { RMI_STATUS_OF, rmi } from './outcome.ts';
import { type CcaState, numVdevs, type Pdev } from './state.ts';
import type { PdevState, RmiHash } from './status.ts';

/** What the RMI and RSI commands of this flavour act on. */
export type CcaPlatform = Platform<CcaState>;

export interface PdevCreateArgs {
  /** Requester id of function 0. */
  pdev: number;
  /** Requester ids of the functions VDEVs may use, [ridBase, ridTop); default: the bus. */
  ridBase?: number;
  ridTop?: number;
  hashAlgo?: RmiHash;
}

export function rmiPdevCreate(p: CcaPlatform, _env: TsmEnv, a: PdevCreateArgs): AbiOutcome {
  const call = 'RMI_PDEV_CREATE';
  const ridBase = a.ridBase ?? a.pdev & 0xff00;
  const ridTop = a.ridTop ?? (a.pdev & 0xff00) + 0x100;
  const hashAlgo = a.hashAlgo ?? 'RMI_HASH_SHA_256';
  const args = { pdev: a.pdev, rid_base: ridBase, rid_top: ridTop, hash_algo: hashAlgo };
  if (p.vendor.pdevs.has(a.pdev)) {
    return rmi(call, args, 'RMI_ERROR_INPUT', undefined, `PDEV ${a.pdev} exists`);
  }
  if (!(ridBase <= a.pdev && a.pdev < ridTop)) {
    return rmi(call, args, 'RMI_ERROR_INPUT', undefined, 'function 0 outside [rid_base, rid_top)');
  }
  const r = tsmDeviceCreate(p, a.pdev);
  if (!r.ok) return rmi(call, args, RMI_STATUS_OF[r.reason], undefined, r.detail);
  p.vendor.pdevs.set(a.pdev, {
    pdevId: a.pdev,
    state: 'PDEV_NEW',
    comm: 'DEV_COMM_PENDING',
    hashAlgo,
    ridBase,
    ridTop,
  });
  return rmi(call, args, 'RMI_SUCCESS');
}

/** What RMI_PDEV_COMMUNICATE answers: the new state and any object the Host should cache. */
export interface PdevCommunicated {
  state: PdevState;
  /** RMI_DEV_COMM_EXIT_FLAGS_RSP_CACHE: the certificate chain, read in PDEV_NEW. */
  cache?: Uint8Array;
}

export async function rmiPdevCommunicate(
  p: CcaPlatform,
  env: TsmEnv,
  a: { pdev: number },
  carrier?: RequesterTransport,
): Promise<AbiOutcome<PdevCommunicated>> {
  const call = 'RMI_PDEV_COMMUNICATE';
  const args = { pdev: a.pdev };
  const d = p.vendor.pdevs.get(a.pdev);
  if (!d) return rmi(call, args, 'RMI_ERROR_INPUT', undefined, `no PDEV ${a.pdev}`);
  if (!carrier) return rmi(call, args, 'RMI_ERROR_INPUT', undefined, 'no request/response buffer');
  if (d.comm !== 'DEV_COMM_PENDING') {
    return rmi(call, args, 'RMI_ERROR_DEVICE', undefined, `PDEV ${a.pdev} has no transaction`);
  }
  const done = (state: PdevState, cache?: Uint8Array, detail?: string) => {
    d.state = state;
    d.comm = 'DEV_COMM_IDLE';
    const value: PdevCommunicated = cache ? { state, cache } : { state };
    return rmi<PdevCommunicated>(call, args, 'RMI_SUCCESS', value, detail);
  };
  switch (d.state) {
    case 'PDEV_NEW': {
      const requester = linkRequester(p, env, a.pdev, carrier);
      try {
        await requester.connect();
        await requester.getDigests();
        const chain = await requester.getCertificate(0);
        // The connection and the verified chain carry on into PDEV_HAS_KEY's session.
        linkSave(p, a.pdev, requester);
        d.certDigest = chain.hash;
        d.leafKey = new Uint8Array(chain.leafPublicKey.export({ type: 'spki', format: 'der' }));
        return done('PDEV_NEEDS_KEY', chain.buffer);
      } catch (e) {
        const f = deviceFailure(e, 'certificate chain');
        await requester.close().catch(() => undefined);
        dropLink(p, a.pdev);
        return done('PDEV_ERROR', undefined, !f.ok ? f.detail : undefined);
      }
    }
    case 'PDEV_HAS_KEY': {
      const c = await tsmConnect(p, env, a.pdev, carrier);
      if (!c.ok) return done('PDEV_ERROR', undefined, c.detail);
      const why = !sameBytes(c.value.chainDigest, d.certDigest)
        ? 'the session used another certificate chain'
        : !sameBytes(d.publicKey, d.leafKey)
          ? 'KEY_EXCHANGE_RSP does not verify with the key the Host set'
          : undefined;
      if (why) {
        await tsmDisconnect(p, env, a.pdev, carrier);
        return done('PDEV_ERROR', undefined, why);
      }
      return done('PDEV_READY');
    }
    case 'PDEV_STOPPING': {
      if (sessionLost(p, env, a.pdev)) forgetLostLink(p, env, a.pdev);
      const phase = p.tsm.devices.get(a.pdev)?.phase;
      const r = phase === 'connected' ? await tsmDisconnect(p, env, a.pdev, carrier) : undefined;
      if (!r) dropLink(p, a.pdev);
      // A device that does not answer the stop is stopped all the same (RMI_DEV_COMM_ERROR).
      return done('PDEV_STOPPED', undefined, r && !r.ok ? r.detail : undefined);
    }
    default:
      return rmi(call, args, 'RMI_ERROR_DEVICE', undefined, `PDEV is ${d.state}`);
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));
}

export interface PdevSetPubkeyArgs {
  pdev: number;
  /** The device's public key as the Host read it from the cached chain (SPKI, DER). */
  key: Uint8Array;
}

export function rmiPdevSetPubkey(p: CcaPlatform, _env: TsmEnv, a: PdevSetPubkeyArgs): AbiOutcome {
  const call = 'RMI_PDEV_SET_PUBKEY';
  const args = { pdev: a.pdev, key_len: a.key.length };
  const d = p.vendor.pdevs.get(a.pdev);
  if (!d) return rmi(call, args, 'RMI_ERROR_INPUT', undefined, `no PDEV ${a.pdev}`);
  try {
    createPublicKey({ key: Buffer.from(a.key), format: 'der', type: 'spki' });
  } catch {
    return rmi(call, args, 'RMI_ERROR_INPUT', undefined, 'the key is not a public key');
  }
  if (d.state !== 'PDEV_NEEDS_KEY') {
    return rmi(call, args, 'RMI_ERROR_DEVICE', undefined, `PDEV is ${d.state}`);
  }
  Object.assign(d, { state: 'PDEV_HAS_KEY', comm: 'DEV_COMM_PENDING', publicKey: a.key.slice() });
  return rmi(call, args, 'RMI_SUCCESS');
}

export function rmiPdevGetState(
  p: CcaPlatform,
  _env: TsmEnv,
  a: { pdev: number },
): AbiOutcome<PdevState> {
  const d = p.vendor.pdevs.get(a.pdev);
  if (!d) return rmi('RMI_PDEV_GET_STATE', a, 'RMI_ERROR_INPUT', undefined, `no PDEV ${a.pdev}`);
  return rmi('RMI_PDEV_GET_STATE', a, 'RMI_SUCCESS', d.state);
}

const STOPPABLE: readonly PdevState[] = [
  'PDEV_NEW',
  'PDEV_NEEDS_KEY',
  'PDEV_HAS_KEY',
  'PDEV_READY',
  'PDEV_ERROR',
];

export function rmiPdevStop(p: CcaPlatform, _env: TsmEnv, a: { pdev: number }): AbiOutcome {
  const call = 'RMI_PDEV_STOP';
  const d = p.vendor.pdevs.get(a.pdev);
  if (!d) return rmi(call, a, 'RMI_ERROR_INPUT', undefined, `no PDEV ${a.pdev}`);
  if (!STOPPABLE.includes(d.state)) {
    return rmi(call, a, 'RMI_ERROR_DEVICE', undefined, `PDEV is ${d.state}`);
  }
  const n = numVdevs(p.vendor, a.pdev);
  if (n !== 0) return rmi(call, a, 'RMI_ERROR_DEVICE', undefined, `PDEV has ${n} VDEVs`);
  // A transaction left pending (say, the Host never carried the key exchange) is abandoned.
  Object.assign(d, { state: 'PDEV_STOPPING', comm: 'DEV_COMM_PENDING' } satisfies Partial<Pdev>);
  return rmi(call, a, 'RMI_SUCCESS');
}

export function rmiPdevDestroy(p: CcaPlatform, env: TsmEnv, a: { pdev: number }): AbiOutcome {
  const call = 'RMI_PDEV_DESTROY';
  const d = p.vendor.pdevs.get(a.pdev);
  if (!d) return rmi(call, a, 'RMI_ERROR_INPUT', undefined, `no PDEV ${a.pdev}`);
  if (d.state !== 'PDEV_STOPPED') {
    return rmi(call, a, 'RMI_ERROR_DEVICE', undefined, `PDEV is ${d.state}`);
  }
  const n = numVdevs(p.vendor, a.pdev);
  if (n !== 0) return rmi(call, a, 'RMI_ERROR_DEVICE', undefined, `PDEV has ${n} VDEVs`);
  const r = tsmDeviceDestroy(p, env, a.pdev);
  if (!r.ok) return rmi(call, a, RMI_STATUS_OF[r.reason], undefined, r.detail);
  p.vendor.pdevs.delete(a.pdev);
  return rmi(call, a, 'RMI_SUCCESS');
}
