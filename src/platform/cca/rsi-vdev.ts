/**
 * RSI commands a Realm calls on its assigned devices (RMM specification 1.1, A9.6 "Realm
 * management of an assigned virtual device", B5.4 RSI_VDEV_GET_INFO, RSI_VDEV_DMA_ENABLE,
 * RSI_VDEV_DMA_DISABLE). The Realm names a device by the vdev_id the Host gave at
 * RMI_VDEV_CREATE, and only its own devices resolve (VdevFromVdevId): any other id is
 * RSI_ERROR_INPUT, so a Realm cannot even learn of another Realm's VDEV.
 *
 * The Realm reads the interface report from the Host (which cached it from
 * RMI_VDEV_COMMUNICATE) and trusts it only if its digest is the report_digest GET_INFO
 * gives; it then consents by passing back the lock nonce and report sequence it attested:
 * a VDEV re-locked or re-reported since is refused with RSI_ERROR_DEVICE.
 */
import type { AbiOutcome } from '../abi.ts';
import { type GuestDeviceEvidence, tsmGuestEvidence } from '../tsm/guest-evidence.ts';
import type { TsmEnv } from '../tsm/link.ts';
import type { VmId } from '../tsm/state.ts';
import { rsi, rsiStatusOf } from './outcome.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import { type AttestInfo, type Vdev, vdevOfRealm } from './state.ts';
import type { RmiHash, RsiStatus, VdevState } from './status.ts';
import { vdevDmaOff, vdevDmaOn } from './vdev-dma.ts';

/** The calling Realm (CurrentRealm()) and the device it names. */
export interface RsiVdevArgs {
  realm: VmId;
  vdevId: bigint;
}

/** RsiVdevInfo as the model gives it. */
export interface RsiVdevInfo extends AttestInfo {
  /** RsiVdevState: RSI_VDEV_NEW .. RSI_VDEV_ERROR. */
  state: `RSI_${VdevState}`;
  hashAlgo: RmiHash;
  /** Digest of the last interface report the RMM fetched; absent before one. */
  reportDigest?: Uint8Array;
  /** Digest of the device's certificate chain, as the RMM read it. */
  certDigest?: Uint8Array;
  dmaEnabled: boolean;
  /** The chain and measurements behind certDigest and the measurement digest, `nonce` echoed. */
  evidence?: GuestDeviceEvidence;
}

export interface RsiVdevInfoArgs extends RsiVdevArgs {
  /** The Realm's nonce for this read (hex), bound to the evidence it returns. */
  nonce?: string;
}

/** The Realm's own VDEV, or the refusal (a dead Realm runs no more RSI commands). */
export function resolveVdev(
  p: CcaPlatform,
  a: RsiVdevArgs,
): { v: Vdev } | { status: RsiStatus; why: string } {
  const r = p.vendor.realms.get(a.realm);
  if (!r) return { status: 'RSI_ERROR_STATE', why: `no Realm ${a.realm}` };
  if (r.dead) return { status: 'RSI_ERROR_STATE', why: `Realm ${a.realm} took a fatal abort` };
  const v = vdevOfRealm(p.vendor, a.realm, a.vdevId);
  return v ? { v } : { status: 'RSI_ERROR_INPUT', why: `no device ${a.vdevId} in ${a.realm}` };
}

function traceArgs(a: RsiVdevArgs) {
  return { realm: a.realm, vdev_id: a.vdevId };
}

export function rsiVdevGetInfo(
  p: CcaPlatform,
  _env: TsmEnv,
  a: RsiVdevInfoArgs,
): AbiOutcome<RsiVdevInfo> {
  const call = 'RSI_VDEV_GET_INFO';
  const l = resolveVdev(p, a);
  if (!('v' in l)) return rsi(call, traceArgs(a), l.status, undefined, l.why);
  const v = l.v;
  const d = p.vendor.pdevs.get(v.pdev);
  const info: RsiVdevInfo = {
    state: `RSI_${v.state}`,
    hashAlgo: d?.hashAlgo ?? 'RMI_HASH_SHA_256',
    ...v.attest,
    dmaEnabled: v.dma === 'VDEV_DMA_ENABLED',
  };
  if (v.reportDigest) info.reportDigest = v.reportDigest.slice();
  if (d?.certDigest) info.certDigest = d.certDigest.slice();
  const evidence = tsmGuestEvidence(p.tsm, v.tdiId, a.nonce);
  if (evidence) info.evidence = evidence;
  return rsi(call, traceArgs(a), 'RSI_SUCCESS', info);
}

/** True when the Realm's attested values are the VDEV's current ones (VdevAttestInfoEqual). */
export function attestInfoEqual(given: AttestInfo, v: Vdev): boolean {
  return (
    given.lockNonce === v.attest.lockNonce &&
    given.measNonce === v.attest.measNonce &&
    given.reportNonce === v.attest.reportNonce
  );
}

export interface RsiDmaEnableArgs extends RsiVdevArgs, AttestInfo {}

/** Enables the VDEV's DMA into the Realm: only in VDEV_STARTED, with current attest info. */
export function rsiVdevDmaEnable(p: CcaPlatform, _env: TsmEnv, a: RsiDmaEnableArgs): AbiOutcome {
  const call = 'RSI_VDEV_DMA_ENABLE';
  const args = {
    ...traceArgs(a),
    lock_nonce: a.lockNonce,
    meas_nonce: a.measNonce,
    report_nonce: a.reportNonce,
  };
  const l = resolveVdev(p, a);
  if (!('v' in l)) return rsi(call, args, l.status, undefined, l.why);
  const v = l.v;
  if (!attestInfoEqual(a, v)) {
    return rsi(call, args, 'RSI_ERROR_DEVICE', undefined, 'the VDEV was locked or reported since');
  }
  if (v.state !== 'VDEV_STARTED') {
    return rsi(call, args, 'RSI_ERROR_DEVICE', undefined, `VDEV is ${v.state}`);
  }
  const on = vdevDmaOn(p, _env, v);
  if (!on.ok) return rsi(call, args, rsiStatusOf(on.reason), undefined, on.detail);
  return rsi(call, args, 'RSI_SUCCESS');
}

export function rsiVdevDmaDisable(p: CcaPlatform, _env: TsmEnv, a: RsiVdevArgs): AbiOutcome {
  const call = 'RSI_VDEV_DMA_DISABLE';
  const l = resolveVdev(p, a);
  if (!('v' in l)) return rsi(call, traceArgs(a), l.status, undefined, l.why);
  vdevDmaOff(p, l.v);
  return rsi(call, traceArgs(a), 'RSI_SUCCESS');
}
