/**
 * The SEV-TIO host ABI: the PSP commands the untrusted host issues (AMD SEV-TIO Firmware
 * Interface Specification #58271; command buffers and call order as in Linux
 * drivers/crypto/ccp/sev-dev-tio.c and sev-dev-tsm.c; SYSTEM.md section 3 "TSM firmware",
 * section 4 steps 1, 3 and 7):
 *
 * - guest contexts: SNP_GCTX_CREATE, SNP_ACTIVATE (the ASID), SNP_LAUNCH_FINISH,
 *   SNP_DECOMMISSION;
 * - TIO_DEV_CREATE, TIO_DEV_CONNECT (SPDM session + IDE keys for TC0's stream),
 *   TIO_DEV_DISCONNECT (FORCE: no SPDM traffic), TIO_DEV_RECLAIM;
 * - TIO_TDI_CREATE; TIO_TDI_BIND, which needs the guest context and the guest's BDF for the
 *   TDI and LOCKs the TDI in the same call (the interface report comes back in the output
 *   buffer), and with TIO_TDI_BIND_RUN_FORCE moves a bound CONFIG_LOCKED TDI to RUN
 *   (START_INTERFACE_REQUEST; sev-dev-tsm.c tdi_run, called when the host relays the
 *   guest's first MMIO_VALIDATE or SDTE_WRITE); TIO_TDI_UNBIND (FORCE); TIO_TDI_REPORT;
 *   TIO_TDI_STATUS; TIO_TDI_RECLAIM;
 * - TIO_ASID_FENCE_STATUS, TIO_ASID_FENCE_CLEAR;
 * - TIO_GUEST_REQUEST: the host relays a guest's TIO_MSG_* (guest-abi.ts);
 * - RMPUPDATE (rmp.ts): the host gives a guest RAM or BAR pages and takes them back.
 *
 * Each call answers with its real SEV_RET_* status; a refused call changes nothing. Calls
 * that talk to the device take the host's DOE carrier (spdm-request.ts).
 */

import { PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX } from '../../wire/tdisp/constants.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import type { AbiEvent, AbiOutcome } from '../abi.ts';
import { msixLockFlag, platformLockFlags } from '../switches.ts';
import {
  connectedDevice,
  tsmConnect,
  tsmDeviceCreate,
  tsmDeviceDestroy,
  tsmDisconnect,
} from '../tsm/device.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmTdiRelease } from '../tsm/release.ts';
import type { TsmResult } from '../tsm/result.ts';
import {
  boundTdi,
  tsmTdiBind,
  tsmTdiCreate,
  tsmTdiDestroy,
  tsmTdiLock,
  tsmTdiReport,
  tsmTdiStart,
  tsmTdiState,
  tsmTdiStop,
} from '../tsm/tdi.ts';
import { tsmDmaAdd } from '../tsm/trusted-dma.ts';
import { tsmVmCreate, tsmVmDestroy, tsmVmFinalize } from '../tsm/vm.ts';
import { fenceStatusWord, fenceVm } from './fence.ts';
import {
  type MmioValidateArgs,
  type SdteWriteArgs,
  type TdiInfoArgs,
  tioMsgMmioValidateReq,
  tioMsgSdteWriteReq,
  tioMsgTdiInfoReq,
} from './guest-abi.ts';
import { type MsgSeal, type SealedReply, sealTag, sealVerifies } from './guest-seal.ts';
import { type Args, failure, hex, refused, type Status, sevOutcome, success } from './outcome.ts';
import { sessionLost, silentCarrier, spdmRequestLoop } from './spdm-request.ts';
import type { GctxPaddr, SevPlatform, SevTdiContext } from './state.ts';
import { TIO_TDISP_STATE } from './status.ts';

const outcome = <T>(call: string, args: Args, r: Status & { value?: T }, caused: AbiEvent[] = []) =>
  sevOutcome<T>('host', call, args, r, caused);

const PAGE = 4096;

/** The VM id the TSM core keeps for guest context `gctx`. */
export const vmOfGctx = (gctx: GctxPaddr): string => `gctx@${hex(gctx)}`;

export type { SealedReply } from './guest-seal.ts';
export { type RmpUpdateArgs, rmpUpdate } from './rmp.ts';

// ---------------------------------------------------------------- guest contexts

export interface GctxArgs {
  /** System physical address of the guest context page. */
  gctx: GctxPaddr;
}

/**
 * SNP_GCTX_CREATE: a guest context in a page the host donates. The firmware makes the
 * guest's VMPCK here (from the platform's seeded randomness, so a run replays) and keeps it
 * in the context; the host gets nothing of it.
 */
export function snpGctxCreate(p: SevPlatform, env: TsmEnv, a: GctxArgs): AbiOutcome {
  const call = 'SNP_GCTX_CREATE';
  const args = { gctx: hex(a.gctx) };
  if (!Number.isSafeInteger(a.gctx) || a.gctx <= 0 || a.gctx % PAGE !== 0) {
    return outcome(call, args, failure('SEV_RET_INVALID_ADDRESS', 'gctx is not a page address'));
  }
  if (p.vendor.guests.has(a.gctx)) {
    return outcome(call, args, failure('SEV_RET_IN_USE', `guest context ${hex(a.gctx)} exists`));
  }
  const vm = vmOfGctx(a.gctx);
  const r = tsmVmCreate(p, vm);
  if (!r.ok) return outcome(call, args, refused(r));
  const vmpck = Buffer.from(env.random(32)).toString('hex');
  p.vendor.guests.set(a.gctx, { gctx: a.gctx, vm, vmpck, msgSeq: 0 });
  return outcome(call, args, success());
}

export interface ActivateArgs extends GctxArgs {
  asid: number;
}

/** SNP_ACTIVATE: gives the guest context its ASID (the key the memory controller uses). */
export function snpActivate(p: SevPlatform, _env: TsmEnv, a: ActivateArgs): AbiOutcome {
  const call = 'SNP_ACTIVATE';
  const args = { gctx: hex(a.gctx), asid: a.asid };
  const g = p.vendor.guests.get(a.gctx);
  if (!g) return outcome(call, args, failure('SEV_RET_INVALID_GUEST', 'no guest context'));
  if (!Number.isSafeInteger(a.asid) || a.asid <= 0) {
    return outcome(call, args, failure('SEV_RET_INVALID_ASID', `ASID ${a.asid}`));
  }
  if (g.asid !== undefined) {
    return outcome(call, args, failure('SEV_RET_INVALID_GUEST_STATE', `active, ASID ${g.asid}`));
  }
  for (const o of p.vendor.guests.values()) {
    if (o.asid === a.asid) {
      return outcome(call, args, failure('SEV_RET_ASID_OWNED', `ASID ${a.asid} is ${o.vm}'s`));
    }
  }
  g.asid = a.asid;
  return outcome(call, args, success());
}

/** SNP_LAUNCH_FINISH: the guest is measured and runs; pages then come only by RMPUPDATE. */
export function snpLaunchFinish(p: SevPlatform, _env: TsmEnv, a: GctxArgs): AbiOutcome {
  const call = 'SNP_LAUNCH_FINISH';
  const args = { gctx: hex(a.gctx) };
  const g = p.vendor.guests.get(a.gctx);
  if (!g) return outcome(call, args, failure('SEV_RET_INVALID_GUEST', 'no guest context'));
  if (g.asid === undefined) {
    return outcome(call, args, failure('SEV_RET_INVALID_GUEST_STATE', 'not activated'));
  }
  const r = tsmVmFinalize(p, g.vm);
  return outcome(call, args, r.ok ? success() : refused(r));
}

/** SNP_DECOMMISSION: the guest context goes; refused while a TDI is bound to it. */
export function snpDecommission(p: SevPlatform, _env: TsmEnv, a: GctxArgs): AbiOutcome {
  const call = 'SNP_DECOMMISSION';
  const args = { gctx: hex(a.gctx) };
  const g = p.vendor.guests.get(a.gctx);
  if (!g) return outcome(call, args, failure('SEV_RET_INVALID_GUEST', 'no guest context'));
  const r = tsmVmDestroy(p, g.vm);
  if (!r.ok) return outcome(call, args, refused(r));
  p.vendor.guests.delete(a.gctx);
  if (g.asid !== undefined) p.vendor.fences.delete(g.asid);
  return outcome(call, args, success());
}

// ---------------------------------------------------------------- devices

export interface DevCreateArgs {
  /** PCIe routing id of the device's function 0. */
  deviceId: number;
  rootPortId: number;
  segmentId: number;
}

/** TIO_DEV_CREATE: a device context for the DSM at `deviceId`. */
export function tioDevCreate(p: SevPlatform, _env: TsmEnv, a: DevCreateArgs): AbiOutcome {
  const call = 'TIO_DEV_CREATE';
  const args = { deviceId: hex(a.deviceId), rootPortId: a.rootPortId, segmentId: a.segmentId };
  if (p.vendor.devs.has(a.deviceId)) {
    return outcome(
      call,
      args,
      failure('SEV_RET_IN_USE', `device ${hex(a.deviceId)} has a context`),
    );
  }
  const r = tsmDeviceCreate(p, a.deviceId);
  if (!r.ok) return outcome(call, args, refused(r));
  p.vendor.devs.set(a.deviceId, { ...a });
  return outcome(call, args, success());
}

export interface DevConnectArgs {
  /** The device context (routing id of function 0). */
  dev: number;
  /** Traffic classes to set up; bit 0 (TC0, the default stream) is required. */
  tcMask: number;
  /** IDE stream id per traffic class (ide_stream_id[8]). */
  ideStreamIds: readonly number[];
  /** Certificate slot for the session. */
  certSlot?: number;
}

/**
 * TIO_DEV_CONNECT: the SPDM session (VCA, certificate, measurements, KEY_EXCHANGE +
 * FINISH) and the IDE keys of TC0's stream at the device, through the SPDM_REQUEST loop.
 */
export async function tioDevConnect(
  p: SevPlatform,
  env: TsmEnv,
  a: DevConnectArgs,
  carrier: RequesterTransport,
): Promise<AbiOutcome<{ sessionId: number; streamId: number }>> {
  const call = 'TIO_DEV_CONNECT';
  const certSlot = a.certSlot ?? 0;
  const args = {
    dev: hex(a.dev),
    tcMask: hex(a.tcMask),
    ideStreamIds: a.ideStreamIds.join(','),
    certSlot,
  };
  const d = p.vendor.devs.get(a.dev);
  if (!d) return outcome(call, args, failure('SEV_RET_SEV_STATUS_INVALID_DEV_CTX', 'no context'));
  const streamId = a.ideStreamIds[0];
  if ((a.tcMask & 1) === 0 || a.tcMask > 0xff || streamId === undefined || streamId > 0xff) {
    return outcome(call, args, failure('SEV_RET_INVALID_PARAM', 'TC0 and its stream id needed'));
  }
  if (certSlot !== 0) {
    // The core authenticates with slot 0, the only slot teeio's device provisions.
    return outcome(call, args, failure('SEV_RET_INVALID_PARAM', `certificate slot ${certSlot}`));
  }
  const loop = spdmRequestLoop(call, carrier);
  const r = await tsmConnect(p, env, a.dev, loop.carrier, streamId);
  if (!r.ok) return outcome(call, args, refused(r), loop.events);
  d.tcMask = a.tcMask;
  d.ideStreamIds = [...a.ideStreamIds];
  d.certSlot = certSlot;
  return outcome(
    call,
    args,
    success({ sessionId: r.value.sessionId, streamId: r.value.streamId }),
    loop.events,
  );
}

export interface DevDisconnectArgs {
  dev: number;
  /** TIO_DEV_DISCONNECT_FLAG_FORCE: forget the session without SPDM traffic. */
  force?: boolean;
}

/**
 * TIO_DEV_DISCONNECT: K_SET_STOP and END_SESSION, or with FORCE no traffic at all.
 * Refused while a TDI of the device is bound to a guest.
 */
export async function tioDevDisconnect(
  p: SevPlatform,
  env: TsmEnv,
  a: DevDisconnectArgs,
  carrier: RequesterTransport,
): Promise<AbiOutcome> {
  const call = 'TIO_DEV_DISCONNECT';
  const force = a.force ?? false;
  const args = { dev: hex(a.dev), force };
  const d = p.vendor.devs.get(a.dev);
  if (!d) return outcome(call, args, failure('SEV_RET_SEV_STATUS_INVALID_DEV_CTX', 'no context'));
  // FORCE is for a device that no longer answers: a lost session does not stop it.
  const lost = linkLost(p, env, a.dev);
  if (lost && !force) return outcome(call, args, lost);
  const loop = spdmRequestLoop(call, force ? silentCarrier(carrier.binding) : carrier);
  const r = await tsmDisconnect(p, env, a.dev, loop.carrier);
  // The core forgets the session even when the device did not answer; FORCE asks for that.
  const forgotten = p.tsm.devices.get(a.dev)?.phase === 'disconnected';
  if (forgotten) {
    d.tcMask = undefined;
    d.ideStreamIds = undefined;
    d.certSlot = undefined;
  }
  if (r.ok || (force && forgotten)) {
    return outcome(call, args, success(), force ? [] : loop.events);
  }
  return outcome(call, args, refused(r), loop.events);
}

/** TIO_DEV_RECLAIM: the device context's pages go back to the host; no TDI may remain. */
export function tioDevReclaim(p: SevPlatform, env: TsmEnv, a: { dev: number }): AbiOutcome {
  const call = 'TIO_DEV_RECLAIM';
  const args = { dev: hex(a.dev) };
  if (!p.vendor.devs.has(a.dev)) {
    return outcome(call, args, failure('SEV_RET_SEV_STATUS_INVALID_DEV_CTX', 'no context'));
  }
  const r = tsmDeviceDestroy(p, env, a.dev);
  if (!r.ok) return outcome(call, args, refused(r));
  p.vendor.devs.delete(a.dev);
  return outcome(call, args, success());
}

// ---------------------------------------------------------------- TDIs

export interface TdiArgs {
  /** The device context (routing id of function 0). */
  dev: number;
  /** The TDI context (host routing id of the TDI's function). */
  tdi: number;
}

/** The TDI context of `a.tdi` under device context `a.dev`, or why not. */
function tdiContext(p: SevPlatform, a: TdiArgs): SevTdiContext | Status {
  if (!p.vendor.devs.has(a.dev)) return failure('SEV_RET_SEV_STATUS_INVALID_DEV_CTX', 'no context');
  const t = p.vendor.tdis.get(a.tdi);
  if (!t || t.device !== a.dev) {
    return failure('SEV_RET_SEV_STATUS_INVALID_TDI_CTX', `no TDI context ${hex(a.tdi)}`);
  }
  return t;
}

const isStatus = (x: SevTdiContext | Status): x is Status => 'status' in x;

/** SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN when the device's SPDM session is gone. */
function linkLost(p: SevPlatform, env: TsmEnv, dev: number): Status | undefined {
  return sessionLost(p, env, dev)
    ? failure('SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN', 'the SPDM session to the device is gone')
    : undefined;
}

/** TIO_TDI_CREATE: a TDI context for interface `tdi` of a connected device. */
export function tioTdiCreate(p: SevPlatform, _env: TsmEnv, a: TdiArgs): AbiOutcome {
  const call = 'TIO_TDI_CREATE';
  const args = { dev: hex(a.dev), tdi: hex(a.tdi) };
  const d = p.vendor.devs.get(a.dev);
  if (!d) return outcome(call, args, failure('SEV_RET_SEV_STATUS_INVALID_DEV_CTX', 'no context'));
  if (!Number.isInteger(a.tdi) || a.tdi < 0 || a.tdi > 0xffff) {
    return outcome(call, args, failure('SEV_RET_INVALID_PARAM', 'interface id'));
  }
  const interfaceId = {
    requesterId: a.tdi,
    segment: d.segmentId,
    segmentValid: d.segmentId !== 0,
  };
  const r = tsmTdiCreate(p, a.dev, interfaceId);
  if (!r.ok) return outcome(call, args, refused(r));
  p.vendor.tdis.set(a.tdi, { rid: a.tdi, device: a.dev, validated: new Map() });
  return outcome(call, args, success());
}

export interface TdiBindArgs extends TdiArgs {
  /** The guest context the TDI is bound to. */
  gctx: GctxPaddr;
  /** The guest's routing id (virtual BDF) for the TDI. */
  guestDeviceId: number;
  /**
   * TIO_TDI_BIND_FLAG_* = TDISP LOCK_INTERFACE_FLAGS (default NO_FW_UPDATE, CLS, and LOCK_MSIX
   * where the platform makes the MSI-X table private: platform/switches.ts msixTable).
   */
  lockFlags?: number;
  /** TIO_TDI_BIND_RUN_FORCE: START a bound CONFIG_LOCKED TDI. */
  run?: boolean;
}

/**
 * TIO_TDI_BIND: binds the TDI to the guest context under the guest's BDF and LOCKs it
 * (LOCK_INTERFACE_REQUEST, then GET_DEVICE_INTERFACE_REPORT into the output buffer), all in
 * one call. With `run` (TIO_TDI_BIND_RUN_FORCE) on a TDI already bound to this guest and
 * CONFIG_LOCKED: START_INTERFACE_REQUEST.
 */
export async function tioTdiBind(
  p: SevPlatform,
  env: TsmEnv,
  a: TdiBindArgs,
  carrier: RequesterTransport,
): Promise<AbiOutcome<{ report?: Uint8Array }>> {
  const call = 'TIO_TDI_BIND';
  const run = a.run ?? false;
  const args: Args = {
    dev: hex(a.dev),
    tdi: hex(a.tdi),
    gctx: hex(a.gctx),
    guestDeviceId: hex(a.guestDeviceId),
    runFlags: run ? 1 : 0,
  };
  if (a.lockFlags !== undefined) args.lockFlags = hex(a.lockFlags);
  const g = p.vendor.guests.get(a.gctx);
  if (!g) return outcome(call, args, failure('SEV_RET_INVALID_GUEST', 'no guest context'));
  if (g.asid === undefined) {
    return outcome(call, args, failure('SEV_RET_INACTIVE', 'guest context has no ASID'));
  }
  const t = tdiContext(p, a);
  if (isStatus(t)) return outcome(call, args, t);
  const d = connectedDevice(p, a.dev);
  if (!d.ok) return outcome(call, args, refused(d));
  const lost = linkLost(p, env, a.dev);
  if (lost) return outcome(call, args, lost);
  if (!Number.isInteger(a.guestDeviceId) || a.guestDeviceId < 0 || a.guestDeviceId > 0xffff) {
    return outcome(call, args, failure('SEV_RET_INVALID_PARAM', 'guest device id'));
  }
  const loop = spdmRequestLoop(call, carrier);

  if (run) {
    const b = boundTdi(p, a.tdi, g.vm);
    if (!b.ok) return outcome(call, args, refused(b));
    if (t.guestDeviceId !== a.guestDeviceId) {
      return outcome(call, args, failure('SEV_RET_INVALID_PARAM', 'bound under another BDF'));
    }
    const s = await tsmTdiStart(p, env, a.tdi, loop.carrier);
    if (!s.ok) return outcome(call, args, refused(s), loop.events);
    return outcome(call, args, success({}), loop.events);
  }

  // LOCK_MSIX is the platform's answer (question 11), not the host's: the guest's trust in
  // which pages stay private rests on it. A host driver asking otherwise is refused rather
  // than overridden, so it learns its flags were not what the TDI got.
  const msix = msixLockFlag(p.switches, 'sev');
  if (
    a.lockFlags !== undefined &&
    (a.lockFlags & PCI_TDISP_LOCK_INTERFACE_FLAGS_LOCK_MSIX) !== msix
  ) {
    const want = msix ? 'needs' : 'must not have';
    const detail = `lock flags ${hex(a.lockFlags)}: this platform ${want} LOCK_MSIX`;
    return outcome(call, args, failure('SEV_RET_INVALID_PARAM', detail));
  }
  const lockFlags = a.lockFlags ?? platformLockFlags(p.switches, 'sev');
  for (const o of p.vendor.tdis.values()) {
    if (o.gctx === a.gctx && o.guestDeviceId === a.guestDeviceId && o.rid !== a.tdi) {
      const msg = `guest BDF ${hex(a.guestDeviceId)} names TDI ${hex(o.rid)}`;
      return outcome(call, args, failure('SEV_RET_INVALID_PARAM', msg));
    }
  }
  const b = tsmTdiBind(p, a.tdi, g.vm);
  if (!b.ok) return outcome(call, args, refused(b));
  const l = await tsmTdiLock(p, env, a.tdi, loop.carrier, { flags: lockFlags });
  if (!l.ok) {
    tsmTdiRelease(p, a.tdi);
    return outcome(call, args, refused(l), loop.events);
  }
  const r = await tsmTdiReport(p, env, a.tdi, loop.carrier);
  // The sDTE's host half: the TDI's DMA is tied to the guest's ASID, off until the guest
  // writes its half (TIO_MSG_SDTE_WRITE_REQ).
  const dma: TsmResult<unknown> = r.ok ? tsmDmaAdd(p, g.vm, a.tdi) : r;
  if (!r.ok || !dma.ok) {
    // Leave the device as it was: unlock it again, forget the binding.
    const stop = await tsmTdiStop(p, env, a.tdi, loop.carrier);
    if (!stop.ok) markError(p, a.tdi);
    tsmTdiRelease(p, a.tdi);
    const why = (r.ok ? dma : r) as Extract<TsmResult<unknown>, { ok: false }>;
    return outcome(call, args, refused(why), loop.events);
  }
  t.gctx = a.gctx;
  t.guestDeviceId = a.guestDeviceId;
  t.lockFlags = lockFlags;
  return outcome(call, args, success({ report: r.value.bytes }), loop.events);
}

export interface TdiUnbindArgs extends TdiArgs {
  gctx: GctxPaddr;
  /** TIO_TDI_UNBIND_FLAG_FORCE: unbind a TDI the guest is running, or one that is silent. */
  force?: boolean;
}

/**
 * A TDI whose STOP the device did not answer: the firmware no longer trusts its state and
 * treats it as ERROR (never used for T=1 traffic again until a STOP succeeds).
 */
function markError(p: SevPlatform, rid: number): void {
  const t = p.tsm.tdis.get(rid);
  if (t) t.state = 'ERROR';
}

/** Forgets everything the guest had of the TDI (its sDTE, validated MMIO, BDF). */
function releaseTdiContext(t: SevTdiContext): void {
  t.gctx = undefined;
  t.guestDeviceId = undefined;
  t.lockFlags = undefined;
  t.sdte = undefined;
  t.validated.clear();
}

/**
 * TIO_TDI_UNBIND: STOP_INTERFACE_REQUEST (-> CONFIG_UNLOCKED, the device scrubs), then
 * nothing of the binding remains. Without FORCE it is refused while the TDI is in RUN (the
 * guest is using it; Linux's tdi_unbind then retries with FORCE) and when the device does
 * not answer. With FORCE it unbinds whatever the device says; a TDI taken from a running
 * guest fences the guest's ASID, which the host must clear with TIO_ASID_FENCE_CLEAR.
 */
export async function tioTdiUnbind(
  p: SevPlatform,
  env: TsmEnv,
  a: TdiUnbindArgs,
  carrier: RequesterTransport,
): Promise<AbiOutcome<{ fenced: boolean }>> {
  const call = 'TIO_TDI_UNBIND';
  const force = a.force ?? false;
  const args = { dev: hex(a.dev), tdi: hex(a.tdi), gctx: hex(a.gctx), force };
  const g = p.vendor.guests.get(a.gctx);
  if (!g) return outcome(call, args, failure('SEV_RET_INVALID_GUEST', 'no guest context'));
  const t = tdiContext(p, a);
  if (isStatus(t)) return outcome(call, args, t);
  const b = boundTdi(p, a.tdi, g.vm);
  if (!b.ok) return outcome(call, args, refused(b));
  const wasRunning = b.value.state === 'RUN';
  if (wasRunning && !force) {
    const msg = `TDI ${hex(a.tdi)} is RUN in ${g.vm}: unbind needs TIO_TDI_UNBIND_FLAG_FORCE`;
    return outcome(call, args, failure('SEV_RET_IN_USE', msg));
  }
  const loop = spdmRequestLoop(call, carrier);
  const lost = linkLost(p, env, a.dev);
  if (lost && !force) return outcome(call, args, lost);
  // FORCE without a session: the firmware cannot send STOP and unbinds all the same.
  const s = lost ? undefined : await tsmTdiStop(p, env, a.tdi, loop.carrier);
  if (s && !s.ok && !force) return outcome(call, args, refused(s), loop.events);
  if (!s?.ok) markError(p, a.tdi);
  const fenced =
    wasRunning && fenceVm(p, g.vm, `TIO_TDI_UNBIND (force) of TDI ${hex(a.tdi)} in RUN`);
  // Nothing private survives: the secure-EPT MMIO entries (every BAR page shared again),
  // the trusted DMA context, the nonce, the report, the binding.
  const r = tsmTdiRelease(p, a.tdi);
  if (!r.ok) throw new Error(`TIO_TDI_UNBIND: release refused after STOP: ${r.detail}`);
  releaseTdiContext(t);
  return outcome(call, args, success({ fenced }), loop.events);
}

/** TIO_TDI_REPORT: fetches the interface report again (CONFIG_LOCKED or RUN). */
export async function tioTdiReport(
  p: SevPlatform,
  env: TsmEnv,
  a: TdiArgs & { gctx: GctxPaddr },
  carrier: RequesterTransport,
): Promise<AbiOutcome<{ report: Uint8Array }>> {
  const call = 'TIO_TDI_REPORT';
  const args = { dev: hex(a.dev), tdi: hex(a.tdi), gctx: hex(a.gctx) };
  const g = p.vendor.guests.get(a.gctx);
  if (!g) return outcome(call, args, failure('SEV_RET_INVALID_GUEST', 'no guest context'));
  const t = tdiContext(p, a);
  if (isStatus(t)) return outcome(call, args, t);
  const b = boundTdi(p, a.tdi, g.vm);
  if (!b.ok) return outcome(call, args, refused(b));
  const lost = linkLost(p, env, a.dev);
  if (lost) return outcome(call, args, lost);
  const loop = spdmRequestLoop(call, carrier);
  const r = await tsmTdiReport(p, env, a.tdi, loop.carrier);
  if (!r.ok) return outcome(call, args, refused(r), loop.events);
  return outcome(call, args, success({ report: r.value.bytes }), loop.events);
}

/** TIO_TDI_STATUS: GET_DEVICE_INTERFACE_STATE; the answer is TIO_TDISP_STATE_*. */
export async function tioTdiStatus(
  p: SevPlatform,
  env: TsmEnv,
  a: TdiArgs,
  carrier: RequesterTransport,
): Promise<AbiOutcome<{ tdispState: number; name: string }>> {
  const call = 'TIO_TDI_STATUS';
  const args = { dev: hex(a.dev), tdi: hex(a.tdi) };
  const t = tdiContext(p, a);
  if (isStatus(t)) return outcome(call, args, t);
  const lost = linkLost(p, env, a.dev);
  if (lost) return outcome(call, args, lost);
  const loop = spdmRequestLoop(call, carrier);
  const r = await tsmTdiState(p, env, a.tdi, loop.carrier);
  if (!r.ok) return outcome(call, args, refused(r), loop.events);
  const value = { tdispState: TIO_TDISP_STATE[r.value], name: r.value };
  return outcome(call, args, success(value), loop.events);
}

/** TIO_TDI_RECLAIM: the TDI context's pages go back to the host; the TDI must be unbound. */
export function tioTdiReclaim(p: SevPlatform, _env: TsmEnv, a: TdiArgs): AbiOutcome {
  const call = 'TIO_TDI_RECLAIM';
  const args = { dev: hex(a.dev), tdi: hex(a.tdi) };
  const t = tdiContext(p, a);
  if (isStatus(t)) return outcome(call, args, t);
  const r = tsmTdiDestroy(p, a.tdi);
  if (!r.ok) return outcome(call, args, refused(r));
  p.vendor.tdis.delete(a.tdi);
  return outcome(call, args, success());
}

// ---------------------------------------------------------------- ASID fence

/** TIO_ASID_FENCE_STATUS: the fence state of `asid` (DMA bits 1:0, MMIO bits 3:2). */
export function tioAsidFenceStatus(
  p: SevPlatform,
  _env: TsmEnv,
  a: { dev: number; asid: number },
): AbiOutcome<{ status: number; fenced: boolean }> {
  const call = 'TIO_ASID_FENCE_STATUS';
  const args = { dev: hex(a.dev), asid: a.asid };
  if (!p.vendor.devs.has(a.dev)) {
    return outcome(call, args, failure('SEV_RET_SEV_STATUS_INVALID_DEV_CTX', 'no context'));
  }
  if (![...p.vendor.guests.values()].some((g) => g.asid === a.asid)) {
    return outcome(call, args, failure('SEV_RET_INVALID_ASID', `no guest has ASID ${a.asid}`));
  }
  const status = fenceStatusWord(p.vendor, a.asid);
  return outcome(call, args, success({ status, fenced: p.vendor.fences.has(a.asid) }));
}

/** TIO_ASID_FENCE_CLEAR: lifts the fence of the guest's ASID (no-op when not fenced). */
export function tioAsidFenceClear(
  p: SevPlatform,
  _env: TsmEnv,
  a: { dev: number; gctx: GctxPaddr },
): AbiOutcome {
  const call = 'TIO_ASID_FENCE_CLEAR';
  const args = { dev: hex(a.dev), gctx: hex(a.gctx) };
  if (!p.vendor.devs.has(a.dev)) {
    return outcome(call, args, failure('SEV_RET_SEV_STATUS_INVALID_DEV_CTX', 'no context'));
  }
  const g = p.vendor.guests.get(a.gctx);
  if (!g) return outcome(call, args, failure('SEV_RET_INVALID_GUEST', 'no guest context'));
  if (g.asid === undefined) {
    return outcome(call, args, failure('SEV_RET_INVALID_GUEST_STATE', 'not activated'));
  }
  p.vendor.fences.delete(g.asid);
  return outcome(call, args, success());
}

// ---------------------------------------------------------------- guest requests

/** A guest message the host relays, by its TIO_MSG_* type. */
export type GuestMessage =
  | { type: 'TIO_MSG_TDI_INFO_REQ'; args: TdiInfoArgs }
  | { type: 'TIO_MSG_SDTE_WRITE_REQ'; args: SdteWriteArgs }
  | { type: 'TIO_MSG_MMIO_VALIDATE_REQ'; args: MmioValidateArgs };

/**
 * TIO_GUEST_REQUEST: the host relays a guest's TIO_MSG_* to the firmware. As Linux's
 * sev-dev-tsm.c guest_request does, an MMIO_VALIDATE or SDTE_WRITE for a TDI still
 * CONFIG_LOCKED is preceded by TIO_TDI_STATUS and TIO_TDI_BIND with TIO_TDI_BIND_RUN_FORCE:
 * this is how a SEV-TIO TDI reaches RUN, on the guest's first use of it. The message opens
 * only when its seal verifies under the guest's VMPCK and its sequence number is the next
 * one (guest-seal.ts); otherwise SEV_RET_BAD_SIGNATURE and nothing changes. The command
 * succeeds when the firmware processed the message; the message's own status is inside
 * the guest's sealed reply, `value`.
 */
export async function tioGuestRequest(
  p: SevPlatform,
  env: TsmEnv,
  a: TdiArgs & { gctx: GctxPaddr; message: GuestMessage; seal?: MsgSeal },
  carrier: RequesterTransport,
): Promise<AbiOutcome<SealedReply>> {
  const call = 'TIO_GUEST_REQUEST';
  const args = { dev: hex(a.dev), tdi: hex(a.tdi), gctx: hex(a.gctx), msgType: a.message.type };
  const g = p.vendor.guests.get(a.gctx);
  if (!g) return outcome(call, args, failure('SEV_RET_INVALID_GUEST', 'no guest context'));
  const t = tdiContext(p, a);
  if (isStatus(t)) return outcome(call, args, t);
  if (a.message.args.gctx !== a.gctx) {
    // The message is sealed with the sender's key: it does not open under another context.
    return outcome(call, args, failure('SEV_RET_INVALID_PARAM', 'message of another guest'));
  }
  // Open the message: its tag under the guest's VMPCK, then its sequence number. A message
  // that does not open changes nothing, the RUN_FORCE below included.
  const body = sealedBody(a.message);
  if (!sealVerifies(g.vmpck, body, a.seal)) {
    const detail = 'the message does not authenticate under the guest VMPCK (forged or altered)';
    return outcome(call, args, failure('SEV_RET_BAD_SIGNATURE', detail));
  }
  const seq = (a.seal as MsgSeal).seq;
  if (seq !== g.msgSeq + 1) {
    const detail = `message sequence number ${seq}, expected ${g.msgSeq + 1} (replayed or stale)`;
    return outcome(call, args, failure('SEV_RET_BAD_SIGNATURE', detail));
  }
  g.msgSeq = seq + 1;
  const caused: AbiEvent[] = [];
  const rec = p.tsm.tdis.get(a.tdi);
  if (a.message.type !== 'TIO_MSG_TDI_INFO_REQ' && rec?.vm === g.vm) {
    const st = await tioTdiStatus(p, env, a, carrier);
    caused.push(...st.events);
    if (st.ok && st.value?.name === 'CONFIG_LOCKED' && t.guestDeviceId !== undefined) {
      const bindArgs = { ...a, guestDeviceId: t.guestDeviceId, run: true };
      const run = await tioTdiBind(p, env, bindArgs, carrier);
      caused.push(...run.events);
      if (!run.ok) return outcome(call, args, { ok: false, status: run.status }, caused);
    }
  }
  const m = a.message;
  const reply: AbiOutcome<unknown> =
    m.type === 'TIO_MSG_TDI_INFO_REQ'
      ? await tioMsgTdiInfoReq(p, env, m.args, carrier)
      : m.type === 'TIO_MSG_SDTE_WRITE_REQ'
        ? tioMsgSdteWriteReq(p, env, m.args)
        : tioMsgMmioValidateReq(p, env, m.args);
  caused.push(...reply.events);
  const { ok, status, value, detail } = reply;
  const r = { ok, status, value, detail };
  const sealed: SealedReply = { ...r, seal: { seq: seq + 1, tag: sealTag(g.vmpck, seq + 1, r) } };
  return outcome(call, args, success(sealed), caused);
}

/** What the guest sealed of a message: its type and its fields, flat. */
export function sealedBody(m: GuestMessage): Record<string, unknown> {
  const { sdte, ...rest } = m.args as SdteWriteArgs;
  return { type: m.type, ...rest, ...sdte };
}
