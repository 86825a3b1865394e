/**
 * platform/tdx: the TDX Connect-like flavour of the TSM (Intel TDX module TDX-IO; SYSTEM.md
 * section 3 "TSM firmware"): its own records (state.ts), its status codes (status.ts), and
 * its host and guest ABIs as separate tables (host-abi.ts with host-mappings.ts,
 * guest-abi.ts), all acting on the core's records through the core's operations; and the
 * flavour object a world selects by name.
 */

import { fabricViews } from '../platform.ts';
import { tdxDmaFault } from './dma-fault.ts';
import { TDX_GUEST_ABI } from './guest-abi.ts';
import { TDX_HOST_ABI } from './host-abi.ts';
import { FLAVOUR } from './outcome.ts';
import { createTdxState, type TdxState } from './state.ts';

export { TDX_GUEST_ABI } from './guest-abi.ts';
export { TDX_HOST_ABI } from './host-abi.ts';
export type { TdxCall } from './outcome.ts';
export type { TdxPlatform, TdxState } from './state.ts';
export { TDX_STATUS, type TdxStatus } from './status.ts';

export const tdxFlavour = {
  name: FLAVOUR,
  create: (): TdxState => createTdxState(),
  host: TDX_HOST_ABI,
  guest: TDX_GUEST_ABI,
  /** What the fabric asks of the TSM's records. */
  views: fabricViews,
  /** The model has no way to kill a TD: an access the module refuses faults, and it goes on. */
  halted: (_p: unknown, _vm: string): string | undefined => undefined,
  /** What the TSM makes of a refused T=1 DMA (switch droppedDma, tsm/dma-fault.ts). */
  dmaFault: tdxDmaFault,
} as const;
