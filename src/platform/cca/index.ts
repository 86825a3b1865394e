/**
 * platform/cca: the CCA-like flavour of the TSM (Arm RMM 1.1 realm device assignment): the
 * RMM's PDEV / VDEV records beside the core's, its host ABI (RMI) and its guest ABI (RSI).
 */
import { fabricViews } from '../platform.ts';
import { ccaDmaFault } from './dma-fault.ts';
import { CCA_GUEST_ABI } from './guest-abi.ts';
import { CCA_HOST_ABI } from './host-abi.ts';
import { FLAVOUR } from './outcome.ts';
import { type CcaState, createCcaState } from './state.ts';

export { CCA_GUEST_ABI, type CcaGuestCall } from './guest-abi.ts';
export { CCA_HOST_ABI, type CcaHostCall, type CcaPlatform } from './host-abi.ts';
export type { CcaState } from './state.ts';

export const ccaFlavour = {
  name: FLAVOUR,
  create: (): CcaState => createCcaState(),
  host: CCA_HOST_ABI,
  guest: CCA_GUEST_ABI,
  /** What the fabric asks of the TSM's records. */
  views: fabricViews,
  /** A Realm that took a fatal abort runs no more (realm-access.ts). */
  halted: (p: { vendor: CcaState }, vm: string): string | undefined => {
    const dead = p.vendor.realms.get(vm)?.dead;
    return (
      dead && `Realm ${vm} took a fatal abort at IPA 0x${dead.ipa.toString(16)} (${dead.ripas})`
    );
  },
  /** What the RMM makes of a refused T=1 DMA (switch droppedDma, tsm/dma-fault.ts). */
  dmaFault: ccaDmaFault,
} as const;
