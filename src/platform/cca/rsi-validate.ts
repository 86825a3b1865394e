/**
 * RSI_VDEV_VALIDATE_MAPPING (RMM specification 1.1, A9.6.2 and B5.4.21): the Realm checks
 * that each page of [ipa_base, ipa_top) maps the device memory at pa_base onwards of its
 * VDEV, as its attested interface report describes, and the RMM then sets the page's RIPAS
 * to RIPAS_DEV (the core's accept of the private MMIO entry). The Realm passes the lock
 * nonce and report sequence it attested: a VDEV locked or reported since is
 * RSI_ERROR_DEVICE. The Host completes the request (RMI_VDEV_VALIDATE_MAPPING, folded in
 * here); a page that does not match stops the walk: the answer is RSI_REJECT and
 * new_ipa_base the first page not validated.
 */
import type { AbiOutcome } from '../abi.ts';
import { PAGE_SHIFT, PAGE_SIZE } from '../ids.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMmioAccept } from '../tsm/private-mmio.ts';
import { rsi, rsiStatusOf } from './outcome.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import { attestInfoEqual, type RsiVdevArgs, resolveVdev } from './rsi-vdev.ts';
import type { AttestInfo } from './state.ts';
import type { RsiResponse } from './status.ts';

export interface RsiValidateArgs extends RsiVdevArgs, AttestInfo {
  ipaBase: bigint;
  ipaTop: bigint;
  paBase: bigint;
}

export interface RsiValidated {
  /** The first IPA not validated (ipa_top when the whole range was). */
  newIpaBase: bigint;
  response: RsiResponse;
}

const PAGE = BigInt(PAGE_SIZE);
const aligned = (v: bigint) => v >= 0n && v % PAGE === 0n;

export function rsiVdevValidateMapping(
  p: CcaPlatform,
  _env: TsmEnv,
  a: RsiValidateArgs,
): AbiOutcome<RsiValidated> {
  const call = 'RSI_VDEV_VALIDATE_MAPPING';
  const args = {
    realm: a.realm,
    vdev_id: a.vdevId,
    ipa_base: a.ipaBase,
    ipa_top: a.ipaTop,
    pa_base: a.paBase,
    lock_nonce: a.lockNonce,
    meas_nonce: a.measNonce,
    report_nonce: a.reportNonce,
  };
  const l = resolveVdev(p, a);
  if (!('v' in l)) return rsi(call, args, l.status, undefined, l.why);
  const v = l.v;
  if (v.state !== 'VDEV_LOCKED' && v.state !== 'VDEV_STARTED') {
    return rsi(call, args, 'RSI_ERROR_INPUT', undefined, `VDEV is ${v.state}`);
  }
  if (!aligned(a.ipaBase) || !aligned(a.ipaTop) || !aligned(a.paBase)) {
    return rsi(call, args, 'RSI_ERROR_INPUT', undefined, 'addresses must be page aligned');
  }
  if (a.ipaTop <= a.ipaBase) return rsi(call, args, 'RSI_ERROR_INPUT', undefined, 'empty range');
  if (!attestInfoEqual(a, v)) {
    return rsi(call, args, 'RSI_ERROR_DEVICE', undefined, 'the VDEV was locked or reported since');
  }
  const realm = p.vendor.realms.get(a.realm);
  for (let ipa = a.ipaBase; ipa < a.ipaTop; ipa += PAGE) {
    const e = realm?.ipas.get(ipa);
    const pa = a.paBase + (ipa - a.ipaBase);
    if (e?.vdev !== v.tdiId || e.pa !== pa || e.ripas !== 'RIPAS_EMPTY') {
      const why = `IPA 0x${ipa.toString(16)} does not map PA 0x${pa.toString(16)} of the VDEV`;
      return rsi(call, args, 'RSI_SUCCESS', { newIpaBase: ipa, response: 'RSI_REJECT' }, why);
    }
    const r = tsmMmioAccept(p, a.realm, ipa >> PAGE_SHIFT);
    if (!r.ok) return rsi(call, args, rsiStatusOf(r.reason), undefined, r.detail);
    e.ripas = 'RIPAS_DEV';
  }
  return rsi(call, args, 'RSI_SUCCESS', { newIpaBase: a.ipaTop, response: 'RSI_ACCEPT' });
}
