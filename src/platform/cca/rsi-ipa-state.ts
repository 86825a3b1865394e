/**
 * RSI_IPA_STATE_SET (RMM specification 1.1, A5.2.2 RIPAS and B5.3): the Realm asks that
 * [ipa_base, ipa_top) be RAM it uses. In the model this is the Realm's consent to the
 * private pages the Host added with RMI_DATA_CREATE_UNKNOWN after activation (the core's
 * accept of a pending page); the Host's completion of the request (RMI_RTT_SET_RIPAS) is
 * folded in here, as RMI_VDEV_VALIDATE_MAPPING is into RSI_VDEV_VALIDATE_MAPPING. A page
 * that is not a pending data granule stops the walk: the answer is RSI_REJECT and
 * new_ipa_base the first page not changed.
 */
import type { AbiOutcome } from '../abi.ts';
import { PAGE_SHIFT, PAGE_SIZE, pfnKeyOf } from '../ids.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { tsmMemAccept } from '../tsm/private-memory.ts';
import type { VmId } from '../tsm/state.ts';
import { rsi } from './outcome.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import type { RsiResponse } from './status.ts';

export interface RsiIpaStateSetArgs {
  realm: VmId;
  ipaBase: bigint;
  ipaTop: bigint;
  /** Only RIPAS_RAM in this model: the Realm takes pages, it does not give them back. */
  ripas: 'RIPAS_RAM';
}

export interface RsiIpaStateSet {
  newIpaBase: bigint;
  response: RsiResponse;
}

const PAGE = BigInt(PAGE_SIZE);
const aligned = (v: bigint) => v >= 0n && v % PAGE === 0n;

export function rsiIpaStateSet(
  p: CcaPlatform,
  _env: TsmEnv,
  a: RsiIpaStateSetArgs,
): AbiOutcome<RsiIpaStateSet> {
  const call = 'RSI_IPA_STATE_SET';
  const args = { realm: a.realm, ipa_base: a.ipaBase, ipa_top: a.ipaTop, ripas: a.ripas };
  const realm = p.vendor.realms.get(a.realm);
  if (!realm) return rsi(call, args, 'RSI_ERROR_STATE', undefined, `no Realm ${a.realm}`);
  if (realm.dead) {
    return rsi(call, args, 'RSI_ERROR_STATE', undefined, `Realm ${a.realm} took a fatal abort`);
  }
  if (
    a.ripas !== 'RIPAS_RAM' ||
    !aligned(a.ipaBase) ||
    !aligned(a.ipaTop) ||
    a.ipaTop <= a.ipaBase
  ) {
    return rsi(call, args, 'RSI_ERROR_INPUT', undefined, 'an aligned, non-empty RAM range');
  }
  const sept = p.hw.septs.get(a.realm);
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
