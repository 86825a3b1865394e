/**
 * One platform: the hardware both sides touch, the TSM core's records and the vendor
 * flavour's own records, all plain data (DESIGN.md principle 2). A world is cloned with
 * structuredClone(platform) plus the same TsmEnv (configuration and SPDM engines), and
 * hashed with world/hash.ts canonicalHash.
 */
import type { PlatformHw } from './state.ts';
import type { TsmState } from './tsm/state.ts';

export interface Platform<S = unknown> {
  hw: PlatformHw;
  tsm: TsmState;
  /** The flavour's own records (TDX: SPDM / DEVIF / MMIOMT objects; SEV: contexts; CCA: PDEV/VDEV). */
  vendor: S;
}
