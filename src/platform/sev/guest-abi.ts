/**
 * The SEV-TIO guest ABI: the guest's TIO_MSG_* requests (AMD SEV-TIO Firmware Interface
 * Specification #58271 tables 60-69; Linux drivers/virt/coco/sev-guest/sev_guest_tio.c of
 * the SEV-TIO series). The guest encrypts each message with its VMPCK and the host only
 * relays it (SVM_VMGEXIT_SEV_TIO_GUEST_REQUEST -> KVM -> TIO_GUEST_REQUEST); the firmware
 * knows the guest by the key, modelled here by the guest context the relay names. The guest
 * names its TDI by the guest device id (its own BDF) TIO_TDI_BIND recorded.
 *
 * - TIO_MSG_TDI_INFO_REQ: the TDI's TDISP state, the certificate / measurement / report
 *   digests, the LOCK flags, and the report itself (the TIO_GUID_REPORT blob);
 * - TIO_MSG_SDTE_WRITE_REQ: the guest writes its fields of the secure device table entry;
 *   V=1 enables trusted DMA for the TDI, an all-zero entry disables it.
 *
 * LOCKED -> RUN: the guest sends no START of its own. When the host relays the guest's
 * first MMIO_VALIDATE or SDTE_WRITE for a CONFIG_LOCKED TDI, it first issues TIO_TDI_BIND
 * with TIO_TDI_BIND_RUN_FORCE (sev-dev-tsm.c guest_request -> tdi_run); host-abi's
 * TIO_GUEST_REQUEST does exactly that.
 */
import { digest } from '../../crypto/hash.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import type { AbiOutcome } from '../abi.ts';
import type { TsmEnv } from '../tsm/link.ts';
import type { TdiStateName } from '../tsm/state.ts';
import { tsmTdiState } from '../tsm/tdi.ts';
import { type Args, hex, type Status, sevOutcome } from './outcome.ts';
import { sessionLost, spdmRequestLoop } from './spdm-request.ts';
import type { GctxPaddr, SdteFields, SevPlatform, SevTdiContext } from './state.ts';
import { tdiOfGuest } from './state.ts';
import { type SdteWriteStatus, type TdiInfoStatus, TIO_TDISP_STATE } from './status.ts';

const outcome = <T>(
  call: string,
  args: Args,
  r: Status & { value?: T },
  caused: AbiOutcome['events'] = [],
) => sevOutcome<T>('guest', call, args, r, caused);

/** What every guest message carries. */
export interface GuestMsgArgs {
  /** The sender's guest context (the firmware knows it by the message's key). */
  gctx: GctxPaddr;
  /** The guest's BDF for the TDI, as TIO_TDI_BIND recorded it. */
  guestDeviceId: number;
}

/**
 * The TDI the guest names, or whether the id names another guest's TDI ('not-bound') or
 * none at all ('invalid').
 */
export function guestTdi(p: SevPlatform, a: GuestMsgArgs): SevTdiContext | 'invalid' | 'not-bound' {
  const t = tdiOfGuest(p.vendor, a.gctx, a.guestDeviceId);
  if (t) return t;
  for (const o of p.vendor.tdis.values()) {
    if (o.guestDeviceId === a.guestDeviceId) return 'not-bound';
  }
  return 'invalid';
}

export interface TdiInfo {
  /** TIO_TDISP_STATE_* and its name, as the device answered now. */
  tdispState: number;
  state: TdiStateName;
  /** SHA-384 of the certificate chain the session was authenticated with. */
  certsDigest: Uint8Array;
  /** SHA-384 of the interface report. */
  interfaceReportDigest: Uint8Array;
  /** The report bytes (the TIO_GUID_REPORT blob of the reply's blob table). */
  report: Uint8Array;
  /** TDISP LOCK_INTERFACE flags the TDI was locked with (TIO_TDI_BIND_FLAG_*). */
  lockFlags?: number;
}

/** TIO_MSG_TDI_INFO_REQ: what the guest needs to attest the TDI before accepting it. */
export async function tioMsgTdiInfoReq(
  p: SevPlatform,
  env: TsmEnv,
  a: GuestMsgArgs,
  carrier: RequesterTransport,
): Promise<AbiOutcome<TdiInfo>> {
  const call = 'TIO_MSG_TDI_INFO_REQ';
  const args = { gctx: hex(a.gctx), guestDeviceId: hex(a.guestDeviceId) };
  const t = guestTdi(p, a);
  if (t === 'invalid' || t === 'not-bound') {
    const status: TdiInfoStatus =
      t === 'invalid' ? 'TDI_INFO_INVALID_TDI' : 'TDI_INFO_TDI_NOT_BOUND';
    return outcome(call, args, { ok: false, status, detail: `guest BDF ${args.guestDeviceId}` });
  }
  const rec = p.tsm.tdis.get(t.rid);
  const dev = p.tsm.devices.get(t.device);
  if (!rec?.report || !dev?.link) {
    const detail = 'no interface report since the bind';
    return outcome(call, args, { ok: false, status: 'TDI_INFO_INVALID_TDI', detail });
  }
  if (sessionLost(p, env, t.device)) {
    const detail = 'the SPDM session to the device is gone';
    return outcome(call, args, { ok: false, status: 'SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN', detail });
  }
  const report = rec.report.bytes;
  const loop = spdmRequestLoop(call, carrier);
  const s = await tsmTdiState(p, env, t.rid, loop.carrier);
  if (!s.ok) {
    return outcome(call, args, { ok: false, status: 'SEV_RET_SPDM_ERROR', detail: s.detail });
  }
  const value: TdiInfo = {
    tdispState: TIO_TDISP_STATE[s.value],
    state: s.value,
    certsDigest: dev.link.chainDigest,
    interfaceReportDigest: digest('sha384', report),
    report,
    lockFlags: t.lockFlags,
  };
  const status: TdiInfoStatus = 'TDI_INFO_SUCCESS';
  return outcome(call, args, { ok: true, status, value }, loop.events);
}

export interface SdteWriteArgs extends GuestMsgArgs {
  /** The guest-writable sDTE fields; all zero (V=0) disables trusted DMA again. */
  sdte: SdteFields;
}

/** TIO_MSG_SDTE_WRITE_REQ: the guest's fields of the secure device table entry. */
export function tioMsgSdteWriteReq(p: SevPlatform, _env: TsmEnv, a: SdteWriteArgs): AbiOutcome {
  const call = 'TIO_MSG_SDTE_WRITE_REQ';
  const args = {
    gctx: hex(a.gctx),
    guestDeviceId: hex(a.guestDeviceId),
    v: a.sdte.v,
    vmpl: a.sdte.vmpl,
    vtom: hex(a.sdte.vtom),
  };
  const t = guestTdi(p, a);
  if (t === 'invalid' || t === 'not-bound') {
    const status: SdteWriteStatus =
      t === 'invalid' ? 'SDTE_WRITE_INVALID_TDI' : 'SDTE_WRITE_TDI_NOT_BOUND';
    return outcome(call, args, { ok: false, status, detail: `guest BDF ${args.guestDeviceId}` });
  }
  const s = a.sdte;
  if (!Number.isInteger(s.vmpl) || s.vmpl < 0 || s.vmpl > 3 || s.vtom < 0 || s.vtom >= 2 ** 31) {
    const status: SdteWriteStatus = 'SDTE_WRITE_RESERVED';
    return outcome(call, args, { ok: false, status, detail: 'VMPL or vTOM out of its field' });
  }
  t.sdte = { ...s };
  const status: SdteWriteStatus = 'SDTE_WRITE_SUCCESS';
  return outcome(call, args, { ok: true, status });
}
