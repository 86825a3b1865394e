/**
 * The devsec TSM over Arm CCA's RSI (RMM 1.1 A9.6, B5.4) and the Realm Host Interface
 * (Linux arm-cca-guest rhi-da.c): the Realm has the host fetch and hand over the interface
 * report (RHI_DA_VDEV_GET_INTERFACE_REPORT, RHI_DA_OBJECT_READ) and trusts it only if its
 * digest is RSI_VDEV_GET_INFO's report_digest; GET_INFO also gives the attest info (lock,
 * measurement and report nonces) and the device evidence with the Realm's nonce bound. It
 * accepts by RSI_VDEV_VALIDATE_MAPPING of each TEE range with that attest info, asks the
 * host to start (RHI_DA_VDEV_SET_TDI_STATE RUN), then RSI_VDEV_DMA_ENABLE. After an unlock
 * it gives the TEE ranges up (RSI_IPA_STATE_SET to RIPAS_EMPTY with RSI_CHANGE_DESTROYED, as
 * Linux's rsi_invalidate_dev_mapping()): the host's RMI_VDEV_UNMAP left them RIPAS_DESTROYED,
 * and only the Realm may say it no longer relies on them, which a relock's RMI_VDEV_MAP needs.
 */
import { digest } from '../../crypto/hash.ts';
import type { RsiIpaStateSet, RsiValidated, RsiVdevInfo } from '../../platform/cca/guest-abi.ts';
import { bytesEqual } from '../../wire/hex.ts';
import type { AttestationReason, TdiStateName } from '../attest/evidence.ts';
import { fail, type Step } from '../outcome.ts';
import type { Attested } from '../state.ts';
import {
  bytesOf,
  type Collected,
  callFailed,
  type GuestTsmFlavour,
  guestRequest,
  lockFlagsShown,
  PAGE,
  tsmCall,
} from './flavour.ts';

const STATE: Record<string, TdiStateName> = {
  RSI_VDEV_LOCKED: 'CONFIG_LOCKED',
  RSI_VDEV_STARTED: 'RUN',
  RSI_VDEV_ERROR: 'ERROR',
};

export const ccaGuestTsm: GuestTsmFlavour = {
  async collect(ctx, nonce): Promise<Step<Collected>> {
    const fetched = await guestRequest(ctx, 'info', { name: 'RHI_DA_VDEV_GET_INTERFACE_REPORT' });
    if (!fetched.ok) return fetched;
    const read = await guestRequest(ctx, 'info', {
      name: 'RHI_DA_OBJECT_READ',
      objectType: 'RHI_DA_OBJECT_INTERFACE_REPORT',
    });
    if (!read.ok) return read;
    const report = (read.value as { data?: unknown } | undefined)?.data;
    if (!(report instanceof Uint8Array)) return fail('EIO', 'RHI_DA_OBJECT_READ: no report');
    const vdevId = BigInt(ctx.dev.vdevId);
    const o = await tsmCall<RsiVdevInfo>(ctx, 'RSI_VDEV_GET_INFO', { vdevId, nonce });
    if (!o.ok || !o.value) return callFailed('RSI_VDEV_GET_INFO', o);
    const info = o.value;
    const ev = info.evidence;
    if (!ev) return fail('EIO', 'RSI_VDEV_GET_INFO: no device evidence');
    const problems: AttestationReason[] = [];
    const alg = info.hashAlgo === 'RMI_HASH_SHA_512' ? 'sha512' : 'sha256';
    if (!info.reportDigest || !bytesEqual(digest(alg, report), info.reportDigest)) {
      problems.push({
        check: 'report',
        message: 'the report the host handed over is not the one report_digest names',
      });
    }
    return {
      ok: true,
      value: {
        evidence: {
          hash: ev.hash,
          certChain: ev.certChain,
          measurements: ev.measurements,
          report: { interfaceId: ev.interfaceId, bytes: report },
          nonce: bytesOf(ev.nonce ?? ''),
          tdiState: STATE[info.state] ?? 'CONFIG_UNLOCKED',
          // RSI_VDEV_GET_INFO does not give the flags; the report, checked against
          // report_digest above, shows them.
          lockFlags: lockFlagsShown(report),
        },
        tsmReportingOffset: ev.reportingOffset,
        problems,
        attestInfo: {
          lockNonce: info.lockNonce,
          measNonce: info.measNonce,
          reportNonce: info.reportNonce,
        },
      },
    };
  },

  async state(ctx): Promise<Step<TdiStateName>> {
    const vdevId = BigInt(ctx.dev.vdevId);
    const o = await tsmCall<RsiVdevInfo>(ctx, 'RSI_VDEV_GET_INFO', { vdevId });
    if (!o.ok || !o.value) return callFailed('RSI_VDEV_GET_INFO', o);
    return { ok: true, value: STATE[o.value.state] ?? 'CONFIG_UNLOCKED' };
  },

  async accept(ctx, a: Attested): Promise<Step> {
    const vdevId = BigInt(ctx.dev.vdevId);
    const attest = a.attestInfo;
    if (!attest) return fail('EINVAL', 'no attest info to consent with');
    for (const r of a.ranges) {
      const ipaBase = r.gpa;
      const ipaTop = r.gpa + BigInt(r.pages) * PAGE;
      const paBase = r.pa;
      const o = await tsmCall<RsiValidated>(ctx, 'RSI_VDEV_VALIDATE_MAPPING', {
        vdevId,
        ipaBase,
        ipaTop,
        paBase,
        ...attest,
      });
      if (!o.ok || o.value?.response !== 'RSI_ACCEPT') {
        return callFailed('RSI_VDEV_VALIDATE_MAPPING', {
          status: o.value?.response ?? o.status,
          detail: o.detail,
        });
      }
    }
    const run = await guestRequest(ctx, 'state-change', {
      name: 'RHI_DA_VDEV_SET_TDI_STATE',
      tdiState: 'RHI_DA_TDI_CONFIG_RUN',
    });
    if (!run.ok) return run;
    const d = await tsmCall(ctx, 'RSI_VDEV_DMA_ENABLE', { vdevId, ...attest });
    if (!d.ok) return callFailed('RSI_VDEV_DMA_ENABLE', d);
    return { ok: true, value: undefined };
  },

  async release(ctx, a: Attested): Promise<Step> {
    for (const r of a.ranges) {
      const ipaBase = r.gpa;
      const ipaTop = r.gpa + BigInt(r.pages) * PAGE;
      const o = await tsmCall<RsiIpaStateSet>(ctx, 'RSI_IPA_STATE_SET', {
        ipaBase,
        ipaTop,
        ripas: 'RIPAS_EMPTY',
        flags: 'RSI_CHANGE_DESTROYED',
      });
      if (!o.ok || o.value?.response !== 'RSI_ACCEPT') {
        return callFailed('RSI_IPA_STATE_SET', {
          status: o.value?.response ?? o.status,
          detail: o.detail,
        });
      }
    }
    return { ok: true, value: undefined };
  },
};
