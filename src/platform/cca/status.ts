/**
 * Arm CCA RMM status codes and state encodings for realm device assignment (RMM
 * specification 1.1, chapter A9 "Realm device assignment", B4.4 RmiStatusCode, B5.3 RSI
 * command return codes). Names and values as the RMM Architecture Compliance Suite gives
 * them (ARM-software/cca-rmm-acs, val/common/inc/val_rmm.h, "v1.1 DA"); the failure
 * conditions each call maps to a code are those of the command pages (B4.5.x RMI_PDEV_*,
 * RMI_VDEV_*, B5.4.x RSI_VDEV_*).
 *
 * Later drafts (DEN0137 2.0-bet1) add RMI_ERROR_TRACKING .. RMI_ERROR_GRANULE (12..16) and
 * fold PDEV_STOPPING into an operation field; this model follows the 1.1 list.
 */

/** RmiStatusCode (B4.4.x): the low byte of an RMI command's X0. */
export const RMI_STATUS = {
  RMI_SUCCESS: 0,
  RMI_ERROR_INPUT: 1,
  RMI_ERROR_REALM: 2,
  RMI_ERROR_REC: 3,
  RMI_ERROR_RTT: 4,
  RMI_ERROR_NOT_SUPPORTED: 5,
  RMI_ERROR_DEVICE: 6,
  RMI_ERROR_RTT_AUX: 7,
  RMI_ERROR_PSMMU_ST: 8,
  RMI_ERROR_DPT: 9,
  RMI_BUSY: 10,
  RMI_ERROR_GLOBAL: 11,
} as const;
export type RmiStatus = keyof typeof RMI_STATUS;

/** RsiStatusCode (B5.3). */
export const RSI_STATUS = {
  RSI_SUCCESS: 0,
  RSI_ERROR_INPUT: 1,
  RSI_ERROR_STATE: 2,
  RSI_ERROR_INCOMPLETE: 3,
  RSI_ERROR_UNKNOWN: 4,
  RSI_ERROR_DEVICE: 5,
} as const;
export type RsiStatus = keyof typeof RSI_STATUS;

/** RmiPdevState (A9.2.3). */
export const RMI_PDEV_STATE = {
  PDEV_NEW: 0,
  PDEV_NEEDS_KEY: 1,
  PDEV_HAS_KEY: 2,
  PDEV_READY: 3,
  PDEV_IDE_RESETTING: 4,
  PDEV_COMMUNICATING: 5,
  PDEV_STOPPING: 6,
  PDEV_STOPPED: 7,
  PDEV_ERROR: 8,
} as const;
export type PdevState = keyof typeof RMI_PDEV_STATE;

/** RmiVdevState (A9.4.3); RsiVdevState has the same names (RSI_VDEV_*) and values. */
export const RMI_VDEV_STATE = {
  VDEV_NEW: 0,
  VDEV_UNLOCKED: 1,
  VDEV_LOCKED: 2,
  VDEV_STARTED: 3,
  VDEV_ERROR: 4,
} as const;
export type VdevState = keyof typeof RMI_VDEV_STATE;

/** RmiRipas / RsiRipas (A5.2.2): the Realm IPA state of a Protected IPA. */
export const RIPAS = {
  RIPAS_EMPTY: 0,
  RIPAS_RAM: 1,
  RIPAS_DESTROYED: 2,
  RIPAS_DEV: 3,
} as const;
export type Ripas = keyof typeof RIPAS;

/** RmiHashAlgorithm: the PDEV's algorithm for the digests a Realm reads (report, measurements). */
export const RMI_HASH = {
  RMI_HASH_SHA_256: 0,
  RMI_HASH_SHA_512: 1,
} as const;
export type RmiHash = keyof typeof RMI_HASH;

/** RsiResponse: whether the Host accepted a Realm's request (RSI_VDEV_VALIDATE_MAPPING). */
export type RsiResponse = 'RSI_ACCEPT' | 'RSI_REJECT';
