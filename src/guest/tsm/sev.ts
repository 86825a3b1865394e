/**
 * The devsec TSM over SEV-TIO's guest messages (SEV-TIO firmware interface #58271; Linux
 * sev_guest_tio.c): TIO_MSG_TDI_INFO_REQ gives the TDI's state, the report and the digests
 * of the certificates and the report, the blobs and the guest's nonce bound to them; the
 * guest checks each blob against its digest. Accept is TIO_MSG_MMIO_VALIDATE_REQ per TEE
 * range and TIO_MSG_SDTE_WRITE_REQ (V=1), relayed by the host (SVM_VMGEXIT_SEV_TIO_GUEST_
 * REQUEST), whose first validate of a CONFIG_LOCKED TDI takes it to RUN (TIO_TDI_BIND with
 * RUN_FORCE): there is no START message of the guest's own, so it reads the state after.
 *
 * Every TIO_MSG_* and its reply pass through the untrusted host. On a real machine they are
 * sealed under the guest's VMPCK with a message sequence number, so the guest's message
 * layer refuses a reply the host replays or rewrites (-EBADMSG) before the attester sees
 * it. teeio does not model that seal: the reply arrives as the host hands it over, and what
 * catches a replayed or rewritten TDI_INFO reply is the attester's own checks (the nonce
 * bound to the evidence, the report's digest), the defence the real guest keeps behind the
 * seal.
 */
import { digest } from '../../crypto/hash.ts';
import type { TdiInfo } from '../../platform/sev/guest-abi.ts';
import { bytesEqual } from '../../wire/hex.ts';
import { DEFAULT_LOCK_FLAGS } from '../../wire/tdisp/constants.ts';
import type { AttestationReason, TdiStateName } from '../attest/evidence.ts';
import { fail, type Step } from '../outcome.ts';
import type { Attested } from '../state.ts';
import {
  bytesOf,
  type Collected,
  callFailed,
  type GuestTsmFlavour,
  guestRequest,
  type TsmContext,
} from './flavour.ts';

/** The sDTE fields the guest writes: trusted DMA on, reads and writes, VMPL 0. */
export const SDTE_ENABLE = { v: true, ir: true, iw: true, vmpl: 0, vtomEn: true, vtom: 0x1000 };

interface SealedReply {
  ok: boolean;
  status: string;
  value?: unknown;
  detail?: string;
}

/** A relayed TIO_MSG_* and the PSP's sealed reply to it, which must succeed. */
async function message(
  ctx: TsmContext,
  type: string,
  fields: Record<string, number | bigint | boolean | string>,
  scope: 'info' | 'state-change' = 'state-change',
): Promise<Step<unknown>> {
  const msg = { type, guestDeviceId: ctx.dev.vdevId, ...fields };
  const r = await guestRequest(ctx, scope, msg);
  if (!r.ok) return r;
  const reply = r.value as SealedReply | undefined;
  if (!reply?.ok) return callFailed(type, reply ?? { status: 'no reply from the VMM' });
  return { ok: true, value: reply.value };
}

/**
 * TIO_MSG_TDI_INFO_REQ, relayed by the host like every TIO_MSG_* (the guest request goes
 * out through SVM_VMGEXIT_SEV_TIO_GUEST_REQUEST): the reply the VMM hands back is what the
 * guest checks, so a dropped, replayed or rewritten one is the guest's to notice.
 */
async function tdiInfo(ctx: TsmContext, nonce?: string): Promise<Step<TdiInfo>> {
  const type = 'TIO_MSG_TDI_INFO_REQ';
  const r = await message(ctx, type, nonce === undefined ? {} : { nonce }, 'info');
  if (!r.ok) return r;
  const info = r.value as TdiInfo | undefined;
  if (!info?.report) return fail('EIO', `${type}: the reply carries no TDI information`);
  return { ok: true, value: info };
}

export const sevGuestTsm: GuestTsmFlavour = {
  async collect(ctx, nonce): Promise<Step<Collected>> {
    const o = await tdiInfo(ctx, nonce);
    if (!o.ok) return o;
    const info = o.value;
    const ev = info.evidence;
    if (!ev) return fail('EIO', 'TIO_MSG_TDI_INFO_REQ: no certificate or measurement blobs');
    const problems: AttestationReason[] = [];
    if (!bytesEqual(digest('sha384', info.report), info.interfaceReportDigest)) {
      problems.push({
        check: 'report',
        message: 'the report is not the one INTERFACE_REPORT_DIGEST names',
      });
    }
    if (!bytesEqual(digest('sha384', ev.certChain), info.certsDigest)) {
      problems.push({
        check: 'chain',
        message: 'the certificates are not the ones CERTS_DIGEST names',
      });
    }
    return {
      ok: true,
      value: {
        evidence: {
          hash: ev.hash,
          certChain: ev.certChain,
          measurements: ev.measurements,
          report: { interfaceId: ev.interfaceId, bytes: info.report },
          nonce: bytesOf(ev.nonce ?? ''),
          tdiState: info.state,
          lockFlags: info.lockFlags ?? DEFAULT_LOCK_FLAGS,
        },
        tsmReportingOffset: ev.reportingOffset,
        problems,
      },
    };
  },

  async state(ctx): Promise<Step<TdiStateName>> {
    const o = await tdiInfo(ctx);
    return o.ok ? { ok: true, value: o.value.state } : o;
  },

  async accept(ctx, a: Attested): Promise<Step> {
    for (const r of a.ranges) {
      const v = await message(ctx, 'TIO_MSG_MMIO_VALIDATE_REQ', {
        subrangeBase: r.gpa,
        subrangePageCount: r.pages,
        rangeOffset: r.rangeOffset,
        rangeId: r.rangeId,
        validated: true,
      });
      if (!v.ok) return v;
    }
    const s = await message(ctx, 'TIO_MSG_SDTE_WRITE_REQ', SDTE_ENABLE);
    if (!s.ok) return s;
    const o = await tdiInfo(ctx);
    if (!o.ok) return o;
    if (o.value.state !== 'RUN') return fail('EIO', `the TDI is ${o.value.state}, not RUN`);
    return { ok: true, value: undefined };
  },
};
