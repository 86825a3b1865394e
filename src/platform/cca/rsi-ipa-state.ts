/**
 * RSI_IPA_STATE_SET (RMM specification 1.1, A5.2.2 RIPAS and B5.3), in two directions:
 *
 * - RIPAS_RAM: the Realm asks that [ipa_base, ipa_top) be RAM it uses. In the model this is
 *   the Realm's consent to the private pages the Host added with RMI_DATA_CREATE_UNKNOWN
 *   after activation (the core's accept of a pending page). A page that is not a pending
 *   data granule stops the walk.
 * - RIPAS_EMPTY: the Realm gives device memory up (Linux's arm-cca-guest
 *   rsi_invalidate_dev_mapping() after it released a device). A page the Host destroyed
 *   (RMI_VDEV_UNMAP of a validated page: RIPAS_DESTROYED) changes only with
 *   RSI_CHANGE_DESTROYED: the Realm's word that it no longer relies on what was there, so the
 *   IPA is free for the Host to map again (a relock). Without that flag a destroyed page stops
 *   the walk, as does device memory still mapped and validated (RIPAS_DEV: the Realm unlocks
 *   the device first).
 *
 * The Host's completion of the request (RMI_RTT_SET_RIPAS) is folded in here, as
 * RMI_VDEV_VALIDATE_MAPPING is into RSI_VDEV_VALIDATE_MAPPING. A page the walk stops at gives
 * RSI_REJECT, new_ipa_base the first page not changed.
 */
import type { AbiOutcome } from '../abi.ts';
import { PAGE_SHIFT, PAGE_SIZE, pfnKeyOf } from '../ids.ts';
import { septForget } from '../sept.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMemAccept } from '../tsm/private-memory.ts';
import type { VmId } from '../tsm/state.ts';
import { rsi } from './outcome.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import type { Ripas, RsiResponse } from './status.ts';

export interface RsiIpaStateSetArgs {
  realm: VmId;
  ipaBase: bigint;
  ipaTop: bigint;
  /** RAM: the Realm takes pending data granules. EMPTY: it gives device memory up. */
  ripas: 'RIPAS_RAM' | 'RIPAS_EMPTY';
  /** RsiRipasChangeDestroyed (default RSI_NO_CHANGE_DESTROYED). */
  flags?: 'RSI_NO_CHANGE_DESTROYED' | 'RSI_CHANGE_DESTROYED';
}

export interface RsiIpaStateSet {
  newIpaBase: bigint;
  response: RsiResponse;
}

const PAGE = BigInt(PAGE_SIZE);
const aligned = (v: bigint) => v >= 0n && v % PAGE === 0n;

/** Why the Realm cannot give page `ripas` up with `flags`, or undefined when it can. */
function giveUpRefusal(ripas: Ripas | undefined, flags: string): string | undefined {
  if (ripas === 'RIPAS_DEV') return 'device memory still mapped and validated: unlock it first';
  if (ripas === 'RIPAS_DESTROYED' && flags !== 'RSI_CHANGE_DESTROYED') {
    return 'RIPAS_DESTROYED changes only with RSI_CHANGE_DESTROYED';
  }
  if (ripas === 'RIPAS_RAM') return 'RAM is not device memory';
  return undefined;
}

export function rsiIpaStateSet(
  p: CcaPlatform,
  _env: TsmEnv,
  a: RsiIpaStateSetArgs,
): AbiOutcome<RsiIpaStateSet> {
  const call = 'RSI_IPA_STATE_SET';
  const flags = a.flags ?? 'RSI_NO_CHANGE_DESTROYED';
  const args = { realm: a.realm, ipa_base: a.ipaBase, ipa_top: a.ipaTop, ripas: a.ripas, flags };
  const realm = p.vendor.realms.get(a.realm);
  if (!realm) return rsi(call, args, 'RSI_ERROR_STATE', undefined, `no Realm ${a.realm}`);
  if (realm.dead) {
    return rsi(call, args, 'RSI_ERROR_STATE', undefined, `Realm ${a.realm} took a fatal abort`);
  }
  if (
    (a.ripas !== 'RIPAS_RAM' && a.ripas !== 'RIPAS_EMPTY') ||
    (flags !== 'RSI_NO_CHANGE_DESTROYED' && flags !== 'RSI_CHANGE_DESTROYED') ||
    !aligned(a.ipaBase) ||
    !aligned(a.ipaTop) ||
    a.ipaTop <= a.ipaBase
  ) {
    return rsi(call, args, 'RSI_ERROR_INPUT', undefined, 'an aligned, non-empty RAM range');
  }
  const sept = p.hw.septs.get(a.realm);
  if (a.ripas === 'RIPAS_EMPTY') {
    for (let ipa = a.ipaBase; ipa < a.ipaTop; ipa += PAGE) {
      const e = realm.ipas.get(ipa);
      const why = giveUpRefusal(e?.ripas, flags);
      if (why) {
        const reject: RsiIpaStateSet = { newIpaBase: ipa, response: 'RSI_REJECT' };
        return rsi(call, args, 'RSI_SUCCESS', reject, why);
      }
      if (e?.ripas === 'RIPAS_DESTROYED') {
        realm.ipas.delete(ipa);
        if (sept?.entries[pfnKeyOf(ipa)]) septForget(sept, ipa >> PAGE_SHIFT);
      }
    }
    const accept: RsiIpaStateSet = { newIpaBase: a.ipaTop, response: 'RSI_ACCEPT' };
    return rsi(call, args, 'RSI_SUCCESS', accept);
  }
  for (let ipa = a.ipaBase; ipa < a.ipaTop; ipa += PAGE) {
    const e = sept?.entries[pfnKeyOf(ipa)];
    if (
      e?.target.kind !== 'memory' ||
      e.state !== 'pending' ||
      !tsmMemAccept(p, a.realm, ipa >> PAGE_SHIFT).ok
    ) {
      const why = `IPA 0x${ipa.toString(16)} is no data granule waiting for the Realm`;
      return rsi(call, args, 'RSI_SUCCESS', { newIpaBase: ipa, response: 'RSI_REJECT' }, why);
    }
  }
  return rsi(call, args, 'RSI_SUCCESS', { newIpaBase: a.ipaTop, response: 'RSI_ACCEPT' });
}
