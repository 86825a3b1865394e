/**
 * One platform: the hardware both sides touch, the TSM core's records and the vendor
 * flavour's own records, all plain data (DESIGN.md principle 2). A world is cloned with
 * structuredClone(platform) plus the same TsmEnv (configuration and SPDM engines), and
 * hashed with world/hash.ts canonicalHash.
 */
import type { FabricViews } from './fabric.ts';
import { createPlatformHw, type PlatformHw, type PlatformHwConfig } from './state.ts';
import { DEFAULT_PLATFORM_SWITCHES, type PlatformSwitches } from './switches.ts';
import { createTsmState, type TsmState, tdiRunning } from './tsm/state.ts';

export interface Platform<S = unknown> {
  hw: PlatformHw;
  tsm: TsmState;
  /** The flavour's own records (TDX: SPDM / DEVIF / MMIOMT objects; SEV: contexts; CCA: PDEV/VDEV). */
  vendor: S;
  /** The platform's answers to the open design questions (switches.ts). */
  switches: PlatformSwitches;
}

export function createPlatform<S>(
  vendor: S,
  hw: PlatformHwConfig = {},
  switches: Partial<PlatformSwitches> = {},
): Platform<S> {
  const all = { ...DEFAULT_PLATFORM_SWITCHES, ...switches };
  return {
    hw: createPlatformHw({ ...hw, dmaTable: all.dmaTable }),
    tsm: createTsmState(),
    vendor,
    switches: all,
  };
}

/**
 * What the fabric asks outside its own state: the TSM's record of which TDIs run, and the
 * device end of an IDE stream (`linkSecure`, from the device's IDE capability).
 */
export function fabricViews(p: Platform, linkSecure: FabricViews['linkSecure']): FabricViews {
  return { tdiRunning: (rid) => tdiRunning(p.tsm, rid), linkSecure };
}
