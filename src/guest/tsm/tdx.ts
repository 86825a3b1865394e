/**
 * The devsec TSM over TDX Connect's guest ABI (intel/tdx-module tdxio TDCALLs): the TD reads
 * its DEVIF (TDG.DEVIF.RD, its nonce bound to the device evidence), validates the device it
 * expects (TDG.DEVIF.VALIDATE with the hash of the chain), asks for the interface report
 * (TDG.DEVIF.REQUEST, relayed by the host, TDG.DEVIF.RESPONSE: the module hands the TD the
 * report it fetched itself, so the host cannot forge it); then accepts each private MMIO
 * page (TDG.MMIO.ACCEPT), the trusted DMA context (TDG.DMAR.ACCEPT) and asks for START
 * (TDG.TDI.START's request, relayed).
 */
import { digest } from '../../crypto/hash.ts';
import type { DevifInfo, TdResponse } from '../../platform/tdx/guest-abi.ts';
import { encodeFunctionId } from '../../wire/tdisp/header.ts';
import type { TdiStateName } from '../attest/evidence.ts';
import { fail, type Step } from '../outcome.ts';
import type { Attested } from '../state.ts';
import {
  bytesOf,
  type Collected,
  callFailed,
  type GuestTsmFlavour,
  guestRequest,
  hexOf,
  lockFlagsShown,
  PAGE,
  type TsmContext,
  tsmCall,
} from './flavour.ts';

const functionIdOf = (ctx: TsmContext) => encodeFunctionId(ctx.dev.interfaceId);

const BUSY = 'TDX_DEVIF_TDISP_INVALID_REQ_STS';

/**
 * TDG.DEVIF.REQUEST, the host's relay, TDG.DEVIF.RESPONSE: the module's answer. The host
 * only carries what the TD recorded, so what it can do to the request is not carry it: a
 * relay it answered without carrying (dropped, or an old answer replayed) leaves the
 * module without a response, which the TD names. An earlier request the host held and
 * carried late leaves a stale answer in the module: the TD reads it away and asks again.
 */
async function tdRequest(
  ctx: TsmContext,
  request: string,
  scope: 'info' | 'state-change',
): Promise<Step<TdResponse>> {
  const functionId = functionIdOf(ctx);
  let q = await tsmCall(ctx, 'TDG.DEVIF.REQUEST', { functionId, request });
  if (!q.ok && q.status === BUSY) {
    let stale = await tsmCall<TdResponse>(ctx, 'TDG.DEVIF.RESPONSE', { functionId });
    if (!stale.ok && stale.status === BUSY) {
      // Not carried yet: the host is asked once more (it carries what the module holds).
      const again = await guestRequest(ctx, scope, { name: request });
      if (!again.ok) return again;
      stale = await tsmCall<TdResponse>(ctx, 'TDG.DEVIF.RESPONSE', { functionId });
      if (!stale.ok && stale.status === BUSY) {
        return fail('EIO', `${request}: the host has not carried the TD's earlier request`);
      }
      if (stale.ok && stale.value?.request === request) return { ok: true, value: stale.value };
    }
    q = await tsmCall(ctx, 'TDG.DEVIF.REQUEST', { functionId, request });
  }
  if (!q.ok) return callFailed('TDG.DEVIF.REQUEST', q);
  const relayed = await guestRequest(ctx, scope, { name: request });
  if (!relayed.ok) return relayed;
  const r = await tsmCall<TdResponse>(ctx, 'TDG.DEVIF.RESPONSE', { functionId });
  if (!r.ok && r.status === BUSY) {
    return fail('EIO', `${request}: the host answered the relay without carrying it (${r.detail})`);
  }
  if (!r.ok || !r.value) return callFailed('TDG.DEVIF.RESPONSE', r);
  if (r.value.request !== request) {
    return fail('EIO', `${request}: the module answered ${r.value.request}`);
  }
  return { ok: true, value: r.value };
}

export const tdxGuestTsm: GuestTsmFlavour = {
  async collect(ctx, nonce): Promise<Step<Collected>> {
    const functionId = functionIdOf(ctx);
    const rd = await tsmCall<DevifInfo>(ctx, 'TDG.DEVIF.RD', { functionId, nonce });
    if (!rd.ok || !rd.value) return callFailed('TDG.DEVIF.RD', rd);
    const ev = rd.value.evidence;
    if (!ev) return fail('EIO', 'TDG.DEVIF.RD: the module has no device evidence');
    // The DEVIF is the device the TD expects: the one whose chain it is about to verify.
    const devInfoHash = hexOf(digest('sha384', ev.certChain));
    const v = await tsmCall(ctx, 'TDG.DEVIF.VALIDATE', { functionId, devInfoHash });
    if (!v.ok && v.status !== 'TDX_DEVIF_ALREADY_VALID') return callFailed('TDG.DEVIF.VALIDATE', v);
    const report = await tdRequest(ctx, 'GET_DEVICE_INTERFACE_REPORT', 'info');
    if (!report.ok) return report;
    const bytes = report.value.value;
    if (!(bytes instanceof Uint8Array)) return fail('EIO', 'TDG.DEVIF.RESPONSE: no report');
    return {
      ok: true,
      value: {
        evidence: {
          hash: ev.hash,
          certChain: ev.certChain,
          measurements: ev.measurements,
          report: { interfaceId: ev.interfaceId, bytes },
          nonce: bytesOf(ev.nonce ?? ''),
          tdiState: rd.value.state as TdiStateName,
          // TDG.DEVIF.RD does not give the flags; the module's own report shows them.
          lockFlags: lockFlagsShown(bytes),
        },
        tsmReportingOffset: ev.reportingOffset,
        problems: [],
      },
    };
  },

  async state(ctx): Promise<Step<TdiStateName>> {
    const rd = await tsmCall<DevifInfo>(ctx, 'TDG.DEVIF.RD', { functionId: functionIdOf(ctx) });
    if (!rd.ok || !rd.value) return callFailed('TDG.DEVIF.RD', rd);
    return { ok: true, value: rd.value.state as TdiStateName };
  },

  async accept(ctx, a: Attested): Promise<Step> {
    const functionId = functionIdOf(ctx);
    for (const r of a.ranges) {
      for (let k = 0; k < r.pages; k++) {
        const gfn = r.gpa / PAGE + BigInt(k);
        const pageOffset = r.rangeOffset / 4096 + k;
        const o = await tsmCall(ctx, 'TDG.MMIO.ACCEPT', {
          functionId,
          gfn,
          rangeId: r.rangeId,
          pageOffset,
        });
        if (!o.ok) return callFailed('TDG.MMIO.ACCEPT', o);
      }
    }
    const d = await tsmCall(ctx, 'TDG.DMAR.ACCEPT', { functionId });
    if (!d.ok) return callFailed('TDG.DMAR.ACCEPT', d);
    const s = await tdRequest(ctx, 'START_INTERFACE_REQUEST', 'state-change');
    return s.ok ? { ok: true, value: undefined } : s;
  },
};
