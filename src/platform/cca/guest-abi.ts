/**
 * The CCA-like flavour's guest ABI: the RSI commands a Realm calls on its private RAM and
 * its assigned devices (RMM specification 1.1, A5.2.2, A9.6 and B5.4), by their real names,
 * and the Realm's own accesses to device memory (realm-access.ts). No RMI (Host) command is reachable from here.
 */
import type { AbiOutcome } from '../abi.ts';
import type { TsmEnv } from '../tsm/link.ts';
import type { CcaPlatform } from './rmi-pdev.ts';
import { rsiIpaStateSet } from './rsi-ipa-state.ts';
import { rsiVdevValidateMapping } from './rsi-validate.ts';
import { rsiVdevDmaDisable, rsiVdevDmaEnable, rsiVdevGetInfo } from './rsi-vdev.ts';

export {
  type RealmAbortEvent,
  type RealmAccess,
  type RealmAccessResult,
  realmMmioAccess,
} from './realm-access.ts';
export type { RsiIpaStateSet, RsiIpaStateSetArgs } from './rsi-ipa-state.ts';
export type { RsiValidateArgs, RsiValidated } from './rsi-validate.ts';
export type { RsiDmaEnableArgs, RsiVdevArgs, RsiVdevInfo } from './rsi-vdev.ts';

/** One RSI command; `args` is the command's own argument record. */
export type CcaGuestCall = (
  p: CcaPlatform,
  env: TsmEnv,
  args: never,
) => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>;

export const CCA_GUEST_ABI = {
  RSI_IPA_STATE_SET: rsiIpaStateSet,
  RSI_VDEV_GET_INFO: rsiVdevGetInfo,
  RSI_VDEV_DMA_ENABLE: rsiVdevDmaEnable,
  RSI_VDEV_DMA_DISABLE: rsiVdevDmaDisable,
  RSI_VDEV_VALIDATE_MAPPING: rsiVdevValidateMapping,
} as const satisfies Record<string, CcaGuestCall>;
