/**
 * platform/sev: the SEV-TIO-like flavour of the TSM (AMD SEV-TIO Firmware Interface
 * Specification #58271; SYSTEM.md section 3 "TSM firmware"): its records (state.ts), its
 * status codes (status.ts), the host ABI (host-abi.ts, with RMPUPDATE in rmp.ts) and the
 * guest ABI (guest-abi.ts) as separate modules, the ASID fence the fabric asks about (fence.ts), and the flavour object
 * a world selects by name.
 */

import type { RequesterTransport } from '../../wire/transport.ts';
import type { AbiOutcome } from '../abi.ts';
import type { TransactionEvent } from '../events.ts';
import { type TdiRunning, tsmDmaFault } from '../tsm/dma-fault.ts';
import type { TsmEnv } from '../tsm/link.ts';
import { sevFabricViews } from './fence.ts';
import {
  pvalidate,
  snpSecretsPage,
  tioMsgMmioValidateReq,
  tioMsgSdteWriteReq,
  tioMsgTdiInfoReq,
} from './guest-abi.ts';
import {
  rmpUpdate,
  snpActivate,
  snpDecommission,
  snpGctxCreate,
  snpLaunchFinish,
  tioAsidFenceClear,
  tioAsidFenceStatus,
  tioDevConnect,
  tioDevCreate,
  tioDevDisconnect,
  tioDevReclaim,
  tioGuestRequest,
  tioTdiBind,
  tioTdiCreate,
  tioTdiReclaim,
  tioTdiReport,
  tioTdiStatus,
  tioTdiUnbind,
} from './host-abi.ts';
import { createSevState, type SevPlatform, type SevState } from './state.ts';

export { asidFenced, fencedMmio, sevFabricViews } from './fence.ts';
export type { SevPlatform, SevState } from './state.ts';

/** One call of the flavour's ABI, callable by its real name. */
export type SevCall = (
  p: SevPlatform,
  env: TsmEnv,
  args: never,
  carrier: RequesterTransport,
) => AbiOutcome<unknown> | Promise<AbiOutcome<unknown>>;

/** The host ABI by real name. */
export const SEV_HOST_ABI: Readonly<Record<string, SevCall>> = {
  SNP_GCTX_CREATE: snpGctxCreate,
  SNP_ACTIVATE: snpActivate,
  SNP_LAUNCH_FINISH: snpLaunchFinish,
  SNP_DECOMMISSION: snpDecommission,
  TIO_DEV_CREATE: tioDevCreate,
  TIO_DEV_CONNECT: tioDevConnect,
  TIO_DEV_DISCONNECT: tioDevDisconnect,
  TIO_DEV_RECLAIM: tioDevReclaim,
  TIO_TDI_CREATE: tioTdiCreate,
  TIO_TDI_BIND: tioTdiBind,
  TIO_TDI_UNBIND: tioTdiUnbind,
  TIO_TDI_REPORT: tioTdiReport,
  TIO_TDI_STATUS: tioTdiStatus,
  TIO_TDI_RECLAIM: tioTdiReclaim,
  TIO_GUEST_REQUEST: tioGuestRequest,
  TIO_ASID_FENCE_STATUS: tioAsidFenceStatus,
  TIO_ASID_FENCE_CLEAR: tioAsidFenceClear,
  RMPUPDATE: rmpUpdate,
};

/** The guest ABI (the guest's TIO_MSG_* requests) by real name. */
export const SEV_GUEST_ABI: Readonly<Record<string, SevCall>> = {
  TIO_MSG_TDI_INFO_REQ: tioMsgTdiInfoReq,
  TIO_MSG_SDTE_WRITE_REQ: tioMsgSdteWriteReq,
  TIO_MSG_MMIO_VALIDATE_REQ: tioMsgMmioValidateReq,
  PVALIDATE: pvalidate,
  SNP_SECRETS_PAGE: snpSecretsPage,
};

export const sevFlavour = {
  name: 'sev' as const,
  create: (): SevState => createSevState(),
  host: SEV_HOST_ABI,
  guest: SEV_GUEST_ABI,
  /** What the fabric asks: the TSM's records, and a fenced ASID stops T=1 traffic. */
  views: sevFabricViews,
  /** A fenced ASID reads all ones and goes on; the model never stops an SNP guest. */
  halted: (_p: unknown, _vm: string): string | undefined => undefined,
  /**
   * What the PSP makes of a refused T=1 DMA (switch droppedDma, tsm/dma-fault.ts): the
   * IOMMU's IO_PAGE_FAULT event, and the core's ERROR, which TIO_MSG_TDI_INFO_REQ then
   * answers; a fenced guest (told already) is not running in the fabric's view.
   */
  dmaFault: (p: SevPlatform, ev: TransactionEvent, running: TdiRunning) =>
    tsmDmaFault(p, ev, 'IO_PAGE_FAULT', running),
};
