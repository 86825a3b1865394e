/**
 * AMD SEV firmware status codes and command ids used by the SEV-TIO flavour, and the
 * status codes of the guest's TIO_MSG_* replies.
 *
 * Sources (public):
 * - SEV_RET_*: include/uapi/linux/psp-sev.h (enum sev_ret_code), with the SEV-TIO
 *   additions 0x30-0x3F (SEV_RET_SPDM_REQUEST, SEV_RET_IN_USE, ...).
 * - SEV_CMD_TIO_*: include/linux/psp-sev.h (enum sev_cmd, "SEV-TIO commands", 0xD0-0xE4);
 *   SEV_CMD_SNP_*: the same enum (SNP guest context commands).
 * - TIO_MSG_*: arch/x86/include/asm/sev.h (enum msg_type) of the SEV-TIO RFC series;
 *   MMIO_VALIDATE_* and SDTE_WRITE_* from include/linux/psp-sev.h and
 *   drivers/virt/coco/sev-guest/sev_guest_tio.c of that series; layouts as in AMD's
 *   "SEV-TIO Firmware Interface Specification" #58271 rev 0.91 (tables 60-69).
 * - TIO_TDISP_STATE_*, TIO_FENCE_*: drivers/crypto/ccp/sev-dev-tio.c.
 */
import type { TsmRefusal } from '../tsm/result.ts';

/** enum sev_ret_code (the subset the flavour answers with), by name. */
export const SEV_RET = {
  SEV_RET_SUCCESS: 0x0000,
  SEV_RET_INVALID_PLATFORM_STATE: 0x0001,
  SEV_RET_INVALID_GUEST_STATE: 0x0002,
  SEV_RET_INACTIVE: 0x0008,
  /**
   * A guest message that does not authenticate under the guest's VMPCK or is out of
   * sequence. Public sources name no code for that; this is the closest (model choice).
   */
  SEV_RET_BAD_SIGNATURE: 0x000a,
  SEV_RET_INVALID_ADDRESS: 0x0009,
  SEV_RET_ASID_OWNED: 0x000c,
  SEV_RET_INVALID_ASID: 0x000d,
  SEV_RET_INVALID_GUEST: 0x0010,
  SEV_RET_INVALID_COMMAND: 0x0011,
  SEV_RET_INVALID_PARAM: 0x0016,
  SEV_RET_INVALID_PAGE_STATE: 0x001a,
  SEV_RET_INVALID_PAGE_OWNER: 0x001c,
  SEV_RET_EXPAND_BUFFER_LENGTH_REQUEST: 0x0031,
  SEV_RET_SPDM_REQUEST: 0x0032,
  SEV_RET_SPDM_ERROR: 0x0033,
  SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN: 0x0035,
  SEV_RET_SEV_STATUS_INVALID_DEV_CTX: 0x0036,
  SEV_RET_SEV_STATUS_INVALID_TDI_CTX: 0x0037,
  SEV_RET_SEV_STATUS_INVALID_TDI: 0x0038,
  SEV_RET_SEV_STATUS_RECLAIM_REQUIRED: 0x0039,
  SEV_RET_IN_USE: 0x003a,
  SEV_RET_SEV_STATUS_INVALID_DEV_STATE: 0x003b,
  SEV_RET_SEV_STATUS_INVALID_TDI_STATE: 0x003c,
} as const;
export type SevRet = keyof typeof SEV_RET;

/** enum sev_cmd: the PSP commands the host issues, by name. */
export const SEV_CMD = {
  SEV_CMD_SNP_DECOMMISSION: 0x090,
  SEV_CMD_SNP_ACTIVATE: 0x091,
  SEV_CMD_SNP_GCTX_CREATE: 0x093,
  SEV_CMD_SNP_LAUNCH_FINISH: 0x0a2,
  SEV_CMD_TIO_DEV_CREATE: 0x0d2,
  SEV_CMD_TIO_DEV_RECLAIM: 0x0d3,
  SEV_CMD_TIO_DEV_CONNECT: 0x0d4,
  SEV_CMD_TIO_DEV_DISCONNECT: 0x0d5,
  SEV_CMD_TIO_TDI_CREATE: 0x0da,
  SEV_CMD_TIO_TDI_RECLAIM: 0x0db,
  SEV_CMD_TIO_TDI_BIND: 0x0dc,
  SEV_CMD_TIO_TDI_UNBIND: 0x0dd,
  SEV_CMD_TIO_TDI_REPORT: 0x0de,
  SEV_CMD_TIO_TDI_STATUS: 0x0df,
  SEV_CMD_TIO_GUEST_REQUEST: 0x0e0,
  SEV_CMD_TIO_ASID_FENCE_CLEAR: 0x0e1,
  SEV_CMD_TIO_ASID_FENCE_STATUS: 0x0e2,
} as const;

/** enum msg_type: the guest's SEV-TIO messages (request types; a reply is type - 0x80). */
export const TIO_MSG = {
  TIO_MSG_TDI_INFO_REQ: 0x81,
  TIO_MSG_MMIO_VALIDATE_REQ: 0x82,
  TIO_MSG_MMIO_CONFIG_REQ: 0x83,
  TIO_MSG_SDTE_WRITE_REQ: 0x84,
} as const;

/** TIO_MSG_MMIO_VALIDATE_RSP.status (enum mmio_validate_status). */
export const MMIO_VALIDATE = {
  MMIO_VALIDATE_SUCCESS: 0,
  MMIO_VALIDATE_INVALID_TDI: 1,
  MMIO_VALIDATE_TDI_UNBOUND: 2,
  /** At least one page is not assigned to the guest. */
  MMIO_VALIDATE_NOT_ASSIGNED: 3,
  /** The Validated bit is not uniformly set over the subrange. */
  MMIO_VALIDATE_NOT_UNIFORM: 4,
  MMIO_VALIDATE_NOT_IMMUTABLE: 5,
  /** At least one page is not mapped at the expected GPA. */
  MMIO_VALIDATE_NOT_MAPPED: 6,
  /** The range id is not in the interface report. */
  MMIO_VALIDATE_NOT_REPORTED: 7,
  /** The subrange lies outside the report's MMIO range. */
  MMIO_VALIDATE_OUT_OF_RANGE: 8,
} as const;
export type MmioValidateStatus = keyof typeof MMIO_VALIDATE;

/** TIO_MSG_SDTE_WRITE_RSP.status. */
export const SDTE_WRITE = {
  SDTE_WRITE_SUCCESS: 0,
  SDTE_WRITE_INVALID_TDI: 1,
  SDTE_WRITE_TDI_NOT_BOUND: 2,
  SDTE_WRITE_RESERVED: 3,
} as const;
export type SdteWriteStatus = keyof typeof SDTE_WRITE;

/**
 * TIO_MSG_TDI_INFO_RSP.status. The RFC code defines no names for it; these mirror the
 * SDTE_WRITE codes (model values, marked as such).
 */
export const TDI_INFO = {
  TDI_INFO_SUCCESS: 0,
  TDI_INFO_INVALID_TDI: 1,
  TDI_INFO_TDI_NOT_BOUND: 2,
} as const;
export type TdiInfoStatus = keyof typeof TDI_INFO;

/** TIO_TDI_STATUS's tdisp_state byte. */
export const TIO_TDISP_STATE = {
  CONFIG_UNLOCKED: 0,
  CONFIG_LOCKED: 1,
  RUN: 2,
  ERROR: 3,
} as const;

/** TIO_TDI_BIND run_flags: TIO_TDI_BIND_RUN_FORCE moves a CONFIG_LOCKED TDI to RUN. */
export const TIO_TDI_BIND_RUN_FORCE = 1 << 0;
/** TIO_TDI_UNBIND flags. */
export const TIO_TDI_UNBIND_FLAG_FORCE = 1 << 0;
/** TIO_DEV_DISCONNECT flags: disconnect without SPDM traffic. */
export const TIO_DEV_DISCONNECT_FLAG_FORCE = 1 << 0;

/** TIO_ASID_FENCE_STATUS: DMA status in bits 1:0, MMIO status in bits 3:2. */
export const TIO_FENCE_DMA_STATUS_NOT_FENCED = 0;
export const TIO_FENCE_DMA_STATUS_ERROR_FENCED = 1;
export const TIO_FENCE_MMIO_STATUS_NOT_FENCED = 0;
export const TIO_FENCE_MMIO_STATUS_FENCED = 3;
export const TIO_FENCE_MMIO_STATUS_SHIFT = 2;

/**
 * The core's refusal as the firmware's status. Public sources say which code a real PSP
 * returns only for some of these; the others are the closest named code (model choice).
 */
export const SEV_RET_OF: Record<TsmRefusal, SevRet> = {
  'no-such-device': 'SEV_RET_SEV_STATUS_INVALID_DEV_CTX',
  'device-exists': 'SEV_RET_IN_USE',
  'device-not-connected': 'SEV_RET_SEV_STATUS_INVALID_DEV_STATE',
  'device-connected': 'SEV_RET_SEV_STATUS_INVALID_DEV_STATE',
  'device-has-tdis': 'SEV_RET_IN_USE',
  'no-such-tdi': 'SEV_RET_SEV_STATUS_INVALID_TDI_CTX',
  'tdi-exists': 'SEV_RET_IN_USE',
  'no-such-vm': 'SEV_RET_INVALID_GUEST',
  'vm-exists': 'SEV_RET_IN_USE',
  'vm-finalized': 'SEV_RET_INVALID_GUEST_STATE',
  'vm-not-finalized': 'SEV_RET_INVALID_GUEST_STATE',
  'tdi-bound': 'SEV_RET_IN_USE',
  'tdi-not-bound': 'SEV_RET_SEV_STATUS_INVALID_TDI_STATE',
  'wrong-vm': 'SEV_RET_INVALID_GUEST',
  'tdi-state': 'SEV_RET_SEV_STATUS_INVALID_TDI_STATE',
  'no-report': 'SEV_RET_SEV_STATUS_INVALID_TDI_STATE',
  'not-in-report': 'SEV_RET_INVALID_PARAM',
  'page-mapped': 'SEV_RET_INVALID_PAGE_STATE',
  'page-not-mapped': 'SEV_RET_INVALID_PAGE_STATE',
  'tdi-mapped': 'SEV_RET_IN_USE',
  'page-owner': 'SEV_RET_INVALID_PAGE_OWNER',
  'sept-state': 'SEV_RET_INVALID_PAGE_STATE',
  'dma-state': 'SEV_RET_SEV_STATUS_INVALID_TDI_STATE',
  'device-error': 'SEV_RET_SPDM_ERROR',
};
