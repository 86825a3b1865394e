/**
 * RMI commands on a VDEV (RMM specification 1.1, A9.4 "Virtual device object", B4.5
 * RMI_VDEV_CREATE / COMMUNICATE / LOCK / START / UNLOCK / GET_INTERFACE_REPORT / GET_STATE /
 * DESTROY). A VDEV binds one TDI of a PDEV in PDEV_READY to one Realm:
 *
 *   NULL -CREATE-> VDEV_NEW -COMMUNICATE-> VDEV_UNLOCKED -LOCK, COMMUNICATE-> VDEV_LOCKED
 *        -START, COMMUNICATE-> VDEV_STARTED;  LOCKED / STARTED / ERROR -UNLOCK, COMMUNICATE->
 *        VDEV_UNLOCKED;  NEW / UNLOCKED / ERROR -DESTROY-> NULL;
 *        a fatal device error in COMMUNICATE -> VDEV_ERROR.
 *
 * LOCK, START, UNLOCK and GET_INTERFACE_REPORT only set the VDEV's operation (vdev.op) and
 * leave a device transaction pending; RMI_VDEV_COMMUNICATE, with the Host's DOE mailbox as
 * carrier, sends it through the TSM core (LOCK_INTERFACE_REQUEST, START_INTERFACE_REQUEST,
 * STOP_INTERFACE_REQUEST, GET_DEVICE_INTERFACE_REPORT). All four are Host (RMI) commands:
 * the Realm has no RSI call that changes the TDI's state. It checks the VDEV instead
 * (RSI_VDEV_GET_INFO) and gives its consent by validating mappings and enabling DMA with the
 * lock nonce and report sequence it attested (guest-abi.ts).
 */

import { digest } from '../../crypto/hash.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import type { AbiOutcome } from '../abi.ts';
import { platformLockFlags } from '../switches.ts';
import type { TsmEnv } from '../tsm/link.ts';
import type { TsmResult } from '../tsm/result.ts';
import type { VmId } from '../tsm/state.ts';
import {
  tsmTdiBind,
  tsmTdiCreate,
  tsmTdiDestroy,
  tsmTdiLock,
  tsmTdiReport,
  tsmTdiStart,
  tsmTdiState,
  tsmTdiStop,
} from '../tsm/tdi.ts';
import { forgetLostLink, sessionLost } from './link-lost.ts';
import { RMI_STATUS_OF, rmi } from './outcome.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import { type Vdev, type VdevOp, vdevOfRealm } from './state.ts';
import type { RmiStatus, VdevState } from './status.ts';
import { vdevDmaOff } from './vdev-dma.ts';
import { vdevRelease } from './vdev-release.ts';

export interface VdevCreateArgs {
  rd: VmId;
  pdev: number;
  /** Requester id of the TDI (tdi_id). */
  tdi: number;
  /** The identifier the Realm will use for it (vdev_id). */
  vdevId: bigint;
  /** PCIe segment of the TDI (the PDEV's routing_id). */
  segment?: number;
}

export function rmiVdevCreate(p: CcaPlatform, _env: TsmEnv, a: VdevCreateArgs): AbiOutcome {
  const call = 'RMI_VDEV_CREATE';
  const args = { rd: a.rd, pdev: a.pdev, tdi_id: a.tdi, vdev_id: a.vdevId };
  const fail = (s: RmiStatus, why: string) => rmi(call, args, s, undefined, why);
  if (!p.vendor.realms.has(a.rd)) return fail('RMI_ERROR_INPUT', `no Realm ${a.rd}`);
  const d = p.vendor.pdevs.get(a.pdev);
  if (!d) return fail('RMI_ERROR_INPUT', `no PDEV ${a.pdev}`);
  if (d.state !== 'PDEV_READY') return fail('RMI_ERROR_DEVICE', `PDEV is ${d.state}`);
  if (vdevOfRealm(p.vendor, a.rd, a.vdevId)) {
    return fail('RMI_ERROR_INPUT', `vdev_id ${a.vdevId} is in use in ${a.rd}`);
  }
  if (p.vendor.vdevs.has(a.tdi)) return fail('RMI_ERROR_INPUT', `tdi_id ${a.tdi} is in use`);
  if (a.tdi < d.ridBase || a.tdi >= d.ridTop) {
    return fail('RMI_ERROR_INPUT', `tdi_id ${a.tdi} is outside the PDEV's requester ids`);
  }
  const interfaceId = { requesterId: a.tdi, segment: a.segment ?? 0, segmentValid: false };
  const c = tsmTdiCreate(p, a.pdev, interfaceId);
  if (!c.ok) return fail(RMI_STATUS_OF[c.reason], c.detail);
  const b = tsmTdiBind(p, a.tdi, a.rd);
  if (!b.ok) {
    tsmTdiDestroy(p, a.tdi);
    return fail(RMI_STATUS_OF[b.reason], b.detail);
  }
  p.vendor.vdevs.set(a.tdi, {
    tdiId: a.tdi,
    vdevId: a.vdevId,
    pdev: a.pdev,
    realm: a.rd,
    state: 'VDEV_NEW',
    // The transaction that brings the device interface to a known, unlocked state.
    op: 'VDEV_OP_UNLOCK',
    comm: 'DEV_COMM_PENDING',
    dma: 'VDEV_DMA_DISABLED',
    attest: { lockNonce: 0n, measNonce: 0n, reportNonce: 0n },
  });
  return rmi(call, args, 'RMI_SUCCESS');
}

/** The (rd, pdev, vdev) triple every VDEV command checks, in the spec's order. */
export interface VdevRef {
  rd: VmId;
  pdev: number;
  /** tdi_id of the VDEV. */
  vdev: number;
}

function vdevArgs(a: VdevRef) {
  return { rd: a.rd, pdev: a.pdev, vdev: a.vdev };
}

/** The VDEV, or the refusal: unknown or of another Realm is INPUT, of another PDEV DEVICE. */
function lookup(p: CcaPlatform, a: VdevRef): { v: Vdev } | { status: RmiStatus; why: string } {
  if (!p.vendor.realms.has(a.rd)) return { status: 'RMI_ERROR_INPUT', why: `no Realm ${a.rd}` };
  if (!p.vendor.pdevs.has(a.pdev)) return { status: 'RMI_ERROR_INPUT', why: `no PDEV ${a.pdev}` };
  const v = p.vendor.vdevs.get(a.vdev);
  if (!v) return { status: 'RMI_ERROR_INPUT', why: `no VDEV ${a.vdev}` };
  if (v.realm !== a.rd) return { status: 'RMI_ERROR_INPUT', why: `VDEV belongs to ${v.realm}` };
  if (v.pdev !== a.pdev) return { status: 'RMI_ERROR_DEVICE', why: `VDEV is of PDEV ${v.pdev}` };
  return { v };
}

/** Starts a device transaction `op` on a VDEV in one of `from`. */
function initiate(
  p: CcaPlatform,
  call: string,
  a: VdevRef,
  from: readonly VdevState[],
  op: VdevOp,
  extra?: (v: Vdev) => string | undefined,
): AbiOutcome {
  const l = lookup(p, a);
  if (!('v' in l)) return rmi(call, vdevArgs(a), l.status, undefined, l.why);
  const v = l.v;
  const pdevState = p.vendor.pdevs.get(v.pdev)?.state;
  const why =
    pdevState !== 'PDEV_READY'
      ? `PDEV is ${pdevState}`
      : !from.includes(v.state)
        ? `VDEV is ${v.state}, needs ${from.join(' or ')}`
        : v.comm !== 'DEV_COMM_IDLE'
          ? `VDEV has a pending ${v.op}`
          : extra?.(v);
  if (why) return rmi(call, vdevArgs(a), 'RMI_ERROR_DEVICE', undefined, why);
  v.op = op;
  v.comm = 'DEV_COMM_PENDING';
  return rmi(call, vdevArgs(a), 'RMI_SUCCESS');
}

export function rmiVdevLock(p: CcaPlatform, _env: TsmEnv, a: VdevRef): AbiOutcome {
  return initiate(p, 'RMI_VDEV_LOCK', a, ['VDEV_UNLOCKED'], 'VDEV_OP_LOCK');
}

/** Refused before LOCK; the model also needs the report fetched since LOCK (core rule). */
export function rmiVdevStart(p: CcaPlatform, _env: TsmEnv, a: VdevRef): AbiOutcome {
  return initiate(p, 'RMI_VDEV_START', a, ['VDEV_LOCKED'], 'VDEV_OP_START', (v) =>
    v.reportDigest ? undefined : 'no interface report fetched since LOCK',
  );
}

export function rmiVdevGetInterfaceReport(p: CcaPlatform, _env: TsmEnv, a: VdevRef): AbiOutcome {
  const from: VdevState[] = ['VDEV_LOCKED', 'VDEV_STARTED'];
  return initiate(p, 'RMI_VDEV_GET_INTERFACE_REPORT', a, from, 'VDEV_OP_GET_REPORT');
}

/** Refused while device memory of the VDEV is mapped; DMA is disabled at once. */
export function rmiVdevUnlock(p: CcaPlatform, _env: TsmEnv, a: VdevRef): AbiOutcome {
  const from: VdevState[] = ['VDEV_LOCKED', 'VDEV_STARTED', 'VDEV_ERROR'];
  const out = initiate(p, 'RMI_VDEV_UNLOCK', a, from, 'VDEV_OP_UNLOCK', (v) => {
    const n = mappedPages(p, v);
    return n > 0 ? `${n} device memory pages of the VDEV are mapped` : undefined;
  });
  const v = p.vendor.vdevs.get(a.vdev);
  if (out.ok && v) vdevDmaOff(p, v);
  return out;
}

/** Device-memory pages of `v` mapped in its Realm's RTT (vdev.num_map). */
export function mappedPages(p: CcaPlatform, v: Vdev): number {
  let n = 0;
  for (const e of p.vendor.realms.get(v.realm)?.ipas.values() ?? []) if (e.vdev === v.tdiId) n++;
  return n;
}

/** What RMI_VDEV_COMMUNICATE answers. */
export interface VdevCommunicated {
  state: VdevState;
  /** RMI_DEV_COMM_EXIT_FLAGS_RSP_CACHE: the interface report, for the Host to cache. */
  cache?: Uint8Array;
}

export async function rmiVdevCommunicate(
  p: CcaPlatform,
  env: TsmEnv,
  a: VdevRef,
  carrier?: RequesterTransport,
): Promise<AbiOutcome<VdevCommunicated>> {
  const call = 'RMI_VDEV_COMMUNICATE';
  const args = vdevArgs(a);
  const l = lookup(p, a);
  if (!('v' in l)) return rmi(call, args, l.status, undefined, l.why);
  const v = l.v;
  if (!carrier) return rmi(call, args, 'RMI_ERROR_INPUT', undefined, 'no request/response buffer');
  if (v.comm !== 'DEV_COMM_PENDING' || !v.op) {
    return rmi(call, args, 'RMI_ERROR_DEVICE', undefined, 'VDEV has no transaction');
  }
  const d = p.vendor.pdevs.get(v.pdev);
  if (d?.state !== 'PDEV_READY') {
    return rmi(call, args, 'RMI_ERROR_DEVICE', undefined, `PDEV is ${d?.state}`);
  }
  const t = a.vdev;
  let r: TsmResult<unknown>;
  let cache: Uint8Array | undefined;
  let next: VdevState = v.state;
  switch (v.op) {
    case 'VDEV_OP_UNLOCK': {
      // From VDEV_NEW the device interface may be in any state: stop it unless unlocked.
      // A failed state query ends the transaction there (the session may be gone with it).
      const s = v.state === 'VDEV_NEW' ? await tsmTdiState(p, env, t, carrier) : undefined;
      r = s && (!s.ok || s.value === 'CONFIG_UNLOCKED') ? s : await tsmTdiStop(p, env, t, carrier);
      next = 'VDEV_UNLOCKED';
      break;
    }
    case 'VDEV_OP_LOCK':
      // The RMM chooses the flags, the Host none: LOCK_MSIX as the platform answers
      // question 11 (platform/switches.ts), the rest as every TSM locks.
      r = await tsmTdiLock(p, env, t, carrier, { flags: platformLockFlags(p.switches, 'cca') });
      next = 'VDEV_LOCKED';
      break;
    case 'VDEV_OP_START':
      r = await tsmTdiStart(p, env, t, carrier);
      next = 'VDEV_STARTED';
      break;
    case 'VDEV_OP_GET_REPORT': {
      const rep = await tsmTdiReport(p, env, t, carrier);
      r = rep;
      if (rep.ok) cache = rep.value.bytes;
      break;
    }
  }
  if (!r.ok && r.reason !== 'device-error') {
    // The core disagrees with the RMM's records: nothing was sent, nothing changes.
    return rmi(call, args, RMI_STATUS_OF[r.reason], undefined, r.detail);
  }
  const op = v.op;
  v.op = undefined;
  v.comm = 'DEV_COMM_IDLE';
  if (!r.ok) {
    v.state = 'VDEV_ERROR';
    vdevDmaOff(p, v);
    if (sessionLost(p, env, v.pdev)) {
      forgetLostLink(p, env, v.pdev);
      d.state = 'PDEV_ERROR';
    }
    return rmi(call, args, 'RMI_SUCCESS', { state: v.state }, r.detail);
  }
  v.state = next;
  if (op === 'VDEV_OP_LOCK') {
    p.vendor.lastLockNonce += 1n;
    v.attest.lockNonce = p.vendor.lastLockNonce;
  }
  if (op === 'VDEV_OP_UNLOCK' || op === 'VDEV_OP_LOCK') v.reportDigest = undefined;
  if (cache) {
    const alg = d.hashAlgo === 'RMI_HASH_SHA_512' ? 'sha512' : 'sha256';
    v.reportDigest = digest(alg, cache);
    v.attest.reportNonce += 1n;
  }
  return rmi(call, args, 'RMI_SUCCESS', cache ? { state: v.state, cache } : { state: v.state });
}

export function rmiVdevGetState(
  p: CcaPlatform,
  _env: TsmEnv,
  a: { vdev: number },
): AbiOutcome<VdevState> {
  const v = p.vendor.vdevs.get(a.vdev);
  if (!v) return rmi('RMI_VDEV_GET_STATE', a, 'RMI_ERROR_INPUT', undefined, `no VDEV ${a.vdev}`);
  return rmi('RMI_VDEV_GET_STATE', a, 'RMI_SUCCESS', v.state);
}

/** Only from VDEV_NEW, VDEV_UNLOCKED or VDEV_ERROR, with nothing mapped and nothing pending. */
export function rmiVdevDestroy(p: CcaPlatform, _env: TsmEnv, a: VdevRef): AbiOutcome {
  const call = 'RMI_VDEV_DESTROY';
  const args = vdevArgs(a);
  const l = lookup(p, a);
  if (!('v' in l)) return rmi(call, args, l.status, undefined, l.why);
  const v = l.v;
  const from: VdevState[] = ['VDEV_NEW', 'VDEV_UNLOCKED', 'VDEV_ERROR'];
  const n = mappedPages(p, v);
  const why = !from.includes(v.state)
    ? `VDEV is ${v.state}`
    : n > 0
      ? `${n} device memory pages of the VDEV are mapped`
      : undefined;
  if (why) return rmi(call, args, 'RMI_ERROR_DEVICE', undefined, why);
  const r = vdevRelease(p, v);
  if (!r.ok) return rmi(call, args, RMI_STATUS_OF[r.reason], undefined, r.detail);
  p.vendor.vdevs.delete(a.vdev);
  return rmi(call, args, 'RMI_SUCCESS');
}
