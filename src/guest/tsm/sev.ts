/**
 * The devsec TSM over SEV-TIO's guest messages (SEV-TIO firmware interface #58271; Linux
 * sev_guest_tio.c): TIO_MSG_TDI_INFO_REQ gives the TDI's state, the report and the digests
 * of the certificates and the report, the blobs and the guest's nonce bound to them; the
 * guest checks each blob against its digest. Accept is TIO_MSG_MMIO_VALIDATE_REQ per TEE
 * range and TIO_MSG_SDTE_WRITE_REQ (V=1), relayed by the host (SVM_VMGEXIT_SEV_TIO_GUEST_
 * REQUEST), whose first validate of a CONFIG_LOCKED TDI takes it to RUN (TIO_TDI_BIND with
 * RUN_FORCE): there is no START message of the guest's own, so it reads the state after.
 *
 * Every TIO_MSG_* and its reply pass through the untrusted host, sealed under the guest's
 * VMPCK with a message sequence number (platform/sev/guest-seal.ts; Linux sev-guest
 * enc_payload / verify_and_dec_payload): the guest reads the key from its secrets page on
 * its first message, and its message layer refuses a reply the host replays (out of
 * sequence) or rewrites (tag does not verify) with -EBADMSG before the attester sees it.
 * The attester's own checks (the nonce bound to the evidence, the report's digest) stay
 * behind the seal.
 *
 * The sequence number moves past a reply that carries the expected number, verified or not:
 * the firmware has used that number (Linux snp_inc_msg_seqno runs once the host returned,
 * before the reply is decrypted). A reply of another number (a replay, none at all) leaves
 * it, the firmware never having seen the request. A guest with the seeded flaw
 * guest-accept-unchecked takes a reply of another number as long as it authenticates.
 */
import { digest } from '../../crypto/hash.ts';
import {
  type SealedReply,
  sealTag,
  sealVerifies,
  type TdiInfo,
} from '../../platform/sev/guest-abi.ts';
import { bytesEqual } from '../../wire/hex.ts';
import type { AttestationReason, TdiStateName } from '../attest/evidence.ts';
import { fail, type Step } from '../outcome.ts';
import { type Attested, hasFlaw } from '../state.ts';
import {
  bytesOf,
  type Collected,
  callFailed,
  type GuestTsmFlavour,
  guestRequest,
  lockFlagsShown,
  type TsmContext,
} from './flavour.ts';

/** The sDTE fields the guest writes: trusted DMA on, reads and writes, VMPL 0. */
export const SDTE_ENABLE = { v: true, ir: true, iw: true, vmpl: 0, vtomEn: true, vtom: 0x1000 };

/** The guest's VMPCK and sequence number, the key read from its secrets page the first time. */
async function sealOf(ctx: TsmContext): Promise<Step<{ vmpck: string; seq: number }>> {
  if (ctx.g.seal) return { ok: true, value: ctx.g.seal };
  const o = await ctx.m.tsmCall('SNP_SECRETS_PAGE', {});
  const vmpck = (o.value as { vmpck?: unknown } | undefined)?.vmpck;
  if (!o.ok || typeof vmpck !== 'string') return callFailed('SNP_SECRETS_PAGE', o);
  ctx.g.seal = { vmpck, seq: 0 };
  return { ok: true, value: ctx.g.seal };
}

/** A TIO_MSG_* sealed under the guest's VMPCK, relayed, and the PSP's reply, which must succeed. */
async function message(
  ctx: TsmContext,
  type: string,
  fields: Record<string, number | bigint | boolean | string>,
  scope: 'info' | 'state-change' = 'state-change',
): Promise<Step<unknown>> {
  const k = await sealOf(ctx);
  if (!k.ok) return k;
  const key = k.value;
  const body = { type, guestDeviceId: ctx.dev.vdevId, ...fields };
  const seq = key.seq + 1;
  const r = await guestRequest(ctx, scope, { ...body, seq, tag: sealTag(key.vmpck, seq, body) });
  if (!r.ok) return r;
  const reply = r.value as Partial<SealedReply> | null | undefined;
  if (!reply) return callFailed(type, { status: 'no reply from the VMM' });
  const got = reply.seal?.seq;
  if (got === seq + 1) key.seq = got;
  else if (!hasFlaw(ctx.g, 'guest-accept-unchecked') || got === undefined) {
    const detail = `${type}: reply out of sequence (sequence number ${got ?? 'none'}, expected ${seq + 1}): replayed or reordered by the host`;
    return fail('EBADMSG', detail);
  }
  const { ok, status, value, detail } = reply;
  if (!sealVerifies(key.vmpck, { ok, status, value, detail }, reply.seal)) {
    const why = `${type}: reply does not authenticate under the VMPCK: altered by the host`;
    return fail('EBADMSG', why);
  }
  if (!ok) return callFailed(type, { status: status ?? '', detail });
  return { ok: true, value };
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
          // The PSP's record of TIO_TDI_BIND's flags; else what the report shows.
          lockFlags: info.lockFlags ?? lockFlagsShown(info.report),
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
