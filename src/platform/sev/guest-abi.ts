/**
 * The SEV-TIO guest ABI: the guest's TIO_MSG_* requests (AMD SEV-TIO Firmware Interface
 * Specification #58271 tables 60-69; Linux drivers/virt/coco/sev-guest/sev_guest_tio.c of
 * the SEV-TIO series). The guest encrypts each message with its VMPCK and the host only
 * relays it (SVM_VMGEXIT_SEV_TIO_GUEST_REQUEST -> KVM -> TIO_GUEST_REQUEST); the firmware
 * knows the guest by the key: the guest context the relay names only says which key the
 * message must open under. The guest
 * names its TDI by the guest device id (its own BDF) TIO_TDI_BIND recorded.
 *
 * - TIO_MSG_TDI_INFO_REQ: the TDI's TDISP state, the certificate / measurement / report
 *   digests, the LOCK flags, and the report itself (the TIO_GUID_REPORT blob);
 * - TIO_MSG_SDTE_WRITE_REQ: the guest writes its fields of the secure device table entry;
 *   V=1 enables trusted DMA for the TDI (the guest's accept of the context TIO_TDI_BIND
 *   added), an all-zero entry disables it;
 * - TIO_MSG_MMIO_VALIDATE_REQ: the guest validates a subrange of a reported MMIO range the
 *   host assigned it (its accept of private MMIO);
 * - PVALIDATE: the guest's instruction validating a private RAM page (SEV-SNP);
 * - SNP_SECRETS_PAGE: the guest reads its secrets page, where the firmware put its VMPCK
 *   at launch (the page is the guest's private memory: the host has no way to it).
 *
 * Each TIO_MSG_* arrives through the host sealed with the guest's VMPCK (guest-seal.ts);
 * host-abi's TIO_GUEST_REQUEST opens it and seals the reply before these handlers see it.
 *
 * LOCKED -> RUN: the guest sends no START of its own. When the host relays the guest's
 * first MMIO_VALIDATE or SDTE_WRITE for a CONFIG_LOCKED TDI, it first issues TIO_TDI_BIND
 * with TIO_TDI_BIND_RUN_FORCE (sev-dev-tsm.c guest_request -> tdi_run); host-abi's
 * TIO_GUEST_REQUEST does exactly that.
 */
import { digest } from '../../crypto/hash.ts';
import type { RequesterTransport } from '../../wire/transport.ts';
import type { AbiOutcome } from '../abi.ts';
import { PAGE_SHIFT, PAGE_SIZE } from '../ids.ts';
import { septEntry } from '../sept.ts';
import { type GuestDeviceEvidence, tsmGuestEvidence } from '../tsm/guest-evidence.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMemAccept, tsmMemBlock } from '../tsm/private-memory.ts';
import { rangeIdPage, tsmMmioAccept, tsmMmioBlock } from '../tsm/private-mmio.ts';
import type { TsmResult } from '../tsm/result.ts';
import type { TdiStateName } from '../tsm/state.ts';
import { tsmTdiState } from '../tsm/tdi.ts';
import { tsmDmaAccept, tsmDmaAdd, tsmDmaBlock, tsmDmaRemove } from '../tsm/trusted-dma.ts';
import { asidFenced } from './fence.ts';
import { type Args, hex, type Status, sevOutcome } from './outcome.ts';
import { sessionLost, spdmRequestLoop } from './spdm-request.ts';
import type { GctxPaddr, SdteFields, SevPlatform, SevTdiContext } from './state.ts';
import { tdiOfGuest } from './state.ts';
import {
  type MmioValidateStatus,
  type SdteWriteStatus,
  type TdiInfoStatus,
  TIO_TDISP_STATE,
} from './status.ts';

export {
  canonical,
  type MsgSeal,
  type SealedReply,
  sealTag,
  sealVerifies,
} from './guest-seal.ts';

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
  /**
   * The TIO_GUID_CERTIFICATES and TIO_GUID_MEASUREMENTS blobs (the chain hashes to
   * certsDigest), the InterfaceID and reporting offset, the guest's nonce echoed.
   */
  evidence?: GuestDeviceEvidence;
}

export interface TdiInfoArgs extends GuestMsgArgs {
  /** The guest's nonce for this request (hex), bound to the evidence in the reply. */
  nonce?: string;
}

/** TIO_MSG_TDI_INFO_REQ: what the guest needs to attest the TDI before accepting it. */
export async function tioMsgTdiInfoReq(
  p: SevPlatform,
  env: TsmEnv,
  a: TdiInfoArgs,
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
  const evidence = tsmGuestEvidence(p.tsm, t.rid, a.nonce);
  if (evidence) value.evidence = evidence;
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
  const vm = p.vendor.guests.get(a.gctx)?.vm ?? '';
  if (asidFenced(p, vm)) {
    const status: SdteWriteStatus = 'SDTE_WRITE_INVALID_TDI';
    return outcome(call, args, { ok: false, status, detail: 'the ASID is fenced (model code)' });
  }
  const rec = p.tsm.tdis.get(t.rid);
  if (!rec) throw new Error(`TDI context ${t.rid} without a core record`);
  if (s.v && rec.dma !== 'accepted' && rec.state !== 'CONFIG_LOCKED' && rec.state !== 'RUN') {
    const status: SdteWriteStatus = 'SDTE_WRITE_INVALID_TDI';
    const detail = `TDI is ${rec.state}: no trusted DMA context (model code)`;
    return outcome(call, args, { ok: false, status, detail });
  }
  sdteToDma(p, vm, rec.rid, rec.dma, s.v);
  t.sdte = { ...s };
  const status: SdteWriteStatus = 'SDTE_WRITE_SUCCESS';
  return outcome(call, args, { ok: true, status });
}

/**
 * The trusted DMA context follows the sDTE's V bit: V=1 is the guest's accept (a context
 * blocked by an earlier V=0 or a fence is set up again first), V=0 blocks it.
 */
function sdteToDma(p: SevPlatform, vm: string, rid: number, dma: string, v: boolean): void {
  const steps: TsmResult[] = [];
  if (v) {
    if (dma === 'blocked') steps.push(tsmDmaRemove(p, rid));
    if (dma === 'blocked' || dma === 'none') steps.push(tsmDmaAdd(p, vm, rid));
    if (dma !== 'accepted') steps.push(tsmDmaAccept(p, vm, rid));
  } else if (dma === 'added' || dma === 'accepted') {
    steps.push(tsmDmaBlock(p, rid));
  }
  for (const r of steps) {
    if (!r.ok) throw new Error(`sDTE write: trusted DMA context: ${r.detail}`);
  }
}

/**
 * SNP_SECRETS_PAGE: the guest reads its VMPCK from its secrets page (SEV-SNP Firmware ABI
 * #56860, "Secrets Page": VMPCK0-3, installed at SNP_LAUNCH_UPDATE of the secrets page).
 * Only the guest's own machine names this call; the host ABI has no such entry.
 */
export function snpSecretsPage(
  p: SevPlatform,
  _env: TsmEnv,
  a: { gctx: GctxPaddr },
): AbiOutcome<{ vmpck: string }> {
  const call = 'SNP_SECRETS_PAGE';
  const g = p.vendor.guests.get(a.gctx);
  if (!g)
    return outcome(call, {}, { ok: false, status: 'SEV_RET_INVALID_GUEST', detail: 'no guest' });
  // The key stays out of the event's arguments: the trace is not the guest's memory.
  return outcome(call, {}, { ok: true, status: 'SEV_RET_SUCCESS', value: { vmpck: g.vmpck } });
}

// ---------------------------------------------------------------- private memory and MMIO

export interface PvalidateArgs {
  gctx: GctxPaddr;
  /** Guest physical address of the 4 KiB page. */
  gpa: bigint;
  /** 1: validate (accept the page the host assigned), 0: rescind. */
  validate: boolean;
}

/**
 * PVALIDATE (AMD APM vol. 3; Linux arch/x86/include/asm/sev.h PVALIDATE_FAIL_*): the guest
 * sets the Validated bit of a private page the host assigned with RMPUPDATE, or clears it.
 * An entry already in the asked state is PVALIDATE_FAIL_NOUPDATE (the carry flag).
 */
export function pvalidate(p: SevPlatform, _env: TsmEnv, a: PvalidateArgs): AbiOutcome {
  const call = 'PVALIDATE';
  const args = { gctx: hex(a.gctx), gpa: hex(a.gpa), validate: a.validate };
  const vm = p.vendor.guests.get(a.gctx)?.vm;
  const e = vm === undefined ? undefined : septEntry(p.hw.septs.get(vm), a.gpa >> PAGE_SHIFT);
  if (!vm || (a.gpa & 0xfffn) !== 0n || e?.target.kind !== 'memory' || e.state === 'removed') {
    const detail = 'no private page of the guest at this GPA';
    return outcome(call, args, { ok: false, status: 'PVALIDATE_FAIL_INPUT', detail });
  }
  const gfn = a.gpa >> PAGE_SHIFT;
  const want = a.validate ? 'pending' : 'present';
  if (e.state !== want) {
    return outcome(call, args, { ok: false, status: 'PVALIDATE_FAIL_NOUPDATE', detail: e.state });
  }
  const r = a.validate ? tsmMemAccept(p, vm, gfn) : tsmMemBlock(p, vm, gfn);
  if (!r.ok)
    return outcome(call, args, { ok: false, status: 'PVALIDATE_FAIL_INPUT', detail: r.detail });
  return outcome(call, args, { ok: true, status: 'PVALIDATE_SUCCESS' });
}

export interface MmioValidateArgs extends GuestMsgArgs {
  /** Guest physical address of the subrange's first page. */
  subrangeBase: bigint;
  subrangePageCount: number;
  /**
   * Offset of the subrange in bytes, from the first page the report gives the RANGE_ID (one
   * ID may have several ranges: tsm/private-mmio.ts rangeIdPage).
   */
  rangeOffset: number;
  rangeId: number;
  /** The Validated value asked for. */
  validated: boolean;
  /** Set it even where the subrange is not uniformly (in)validated. */
  forceValidated?: boolean;
}

/**
 * TIO_MSG_MMIO_VALIDATE_REQ: the guest validates (or invalidates) a subrange of a reported
 * MMIO range that the host assigned it (RMPUPDATE): each page must be assigned to the guest,
 * mapped at the expected GPA onto the expected BAR page of this TDI, inside a TEE range of
 * the report; the Validated bits must agree unless forced. Validating accepts the pages'
 * secure-EPT entries; invalidating blocks them.
 */
export function tioMsgMmioValidateReq(
  p: SevPlatform,
  _env: TsmEnv,
  a: MmioValidateArgs,
): AbiOutcome<{ changed: boolean }> {
  const call = 'TIO_MSG_MMIO_VALIDATE_REQ';
  const args = {
    gctx: hex(a.gctx),
    guestDeviceId: hex(a.guestDeviceId),
    subrangeBase: hex(a.subrangeBase),
    subrangePageCount: a.subrangePageCount,
    rangeOffset: hex(a.rangeOffset),
    rangeId: a.rangeId,
    validated: a.validated,
  };
  const no = (status: MmioValidateStatus, detail: string) =>
    outcome<{ changed: boolean }>(call, args, { ok: false, status, detail });
  const t = guestTdi(p, a);
  if (t === 'invalid') return no('MMIO_VALIDATE_INVALID_TDI', `guest BDF ${args.guestDeviceId}`);
  if (t === 'not-bound') return no('MMIO_VALIDATE_TDI_UNBOUND', `guest BDF ${args.guestDeviceId}`);
  const rec = p.tsm.tdis.get(t.rid);
  const vm = rec?.vm;
  const ids = rec?.report?.ranges.filter((r) => r.rangeId === a.rangeId && !r.nonTee) ?? [];
  if (!rec || !vm || ids.length === 0) {
    return no('MMIO_VALIDATE_NOT_REPORTED', `range ${a.rangeId}`);
  }
  const n = a.subrangePageCount;
  if (
    !Number.isInteger(n) ||
    n < 1 ||
    a.rangeOffset % PAGE_SIZE !== 0 ||
    a.rangeOffset < 0 ||
    n > ids.reduce((sum, r) => sum + r.pages, 0) ||
    (a.subrangeBase & 0xfffn) !== 0n
  ) {
    return no('MMIO_VALIDATE_OUT_OF_RANGE', `${n} pages at +${args.rangeOffset}`);
  }
  // Each page by its offset from the RANGE_ID's first reported page: one ID may have several
  // ranges (tsm/private-mmio.ts rangeIdPage), and every page must lie in a TEE one of them.
  const hpfns: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const hpfn = rangeIdPage(rec, a.rangeId, a.rangeOffset / PAGE_SIZE + i);
    if (hpfn === undefined) {
      return no(
        'MMIO_VALIDATE_OUT_OF_RANGE',
        `${n} pages at +${args.rangeOffset} of range ${a.rangeId}`,
      );
    }
    hpfns.push(hpfn);
  }
  const sept = p.hw.septs.get(vm);
  const gfn0 = a.subrangeBase >> PAGE_SHIFT;
  const states = new Set<string>();
  for (let i = 0n; i < BigInt(n); i++) {
    const e = septEntry(sept, gfn0 + i);
    if (!e || e.state === 'removed')
      return no('MMIO_VALIDATE_NOT_ASSIGNED', `gfn ${hex(gfn0 + i)}`);
    if (e.target.kind !== 'mmio' || e.target.rid !== t.rid || e.target.hpfn !== hpfns[Number(i)]) {
      return no('MMIO_VALIDATE_NOT_MAPPED', `gfn ${hex(gfn0 + i)}`);
    }
    states.add(e.state === 'present' ? 'validated' : 'not-validated');
  }
  if (states.size > 1 && !a.forceValidated) {
    return no('MMIO_VALIDATE_NOT_UNIFORM', 'the subrange is partly validated');
  }
  let changed = false;
  for (let i = 0n; i < BigInt(n); i++) {
    const gfn = gfn0 + i;
    const e = septEntry(sept, gfn);
    const r =
      a.validated && e?.state === 'pending'
        ? tsmMmioAccept(p, vm, gfn)
        : !a.validated && e?.state === 'present'
          ? tsmMmioBlock(p, vm, gfn)
          : undefined;
    if (r && !r.ok) throw new Error(`MMIO validate: ${r.detail}`);
    if (r) changed = true;
  }
  const key = `${a.rangeId}:${a.subrangeBase}`;
  if (a.validated) {
    t.validated.set(key, {
      rangeId: a.rangeId,
      gpa: a.subrangeBase,
      pages: n,
      rangeOffset: a.rangeOffset,
    });
  } else {
    t.validated.delete(key);
  }
  const status: MmioValidateStatus = 'MMIO_VALIDATE_SUCCESS';
  return outcome(call, args, { ok: true, status, value: { changed } });
}
