/**
 * Seeded flaws of the DSM (world/flaws.ts names them; the world hands the device its own):
 * each a way a real DSM firmware could get PCIe 6.x 11.2.6 "TDI configuration changes" or
 * the STOP_INTERFACE scrub (11.3.16) wrong, so the explorer can show that the invariants of
 * SYSTEM.md section 5 catch it. They live in DsmState (plain data), so a snapshot of a
 * flawed device stays flawed. A 'spec' DSM has none.
 */
import type { ConfigEventRecord } from '../events.ts';
import type { DsmState } from './state.ts';

export const DSM_FLAWS = [
  /** A BAR write (PF header or a PF's VF BAR) leaves a locked TDI as it was. */
  'device-bar-write-no-error',
  /** A change to a LOCK_MSIX-locked MSI-X table, PBA or Message Control goes unnoticed. */
  'device-msix-change-not-caught',
  /**
   * A PF FLR moves only the PF's own TDI: its VFs' TDIs keep their state although the VFs
   * were reset (the FLR records of the VFs are ignored, and the DSM never sweeps TDIs whose
   * function disappeared, so VFs re-created by the host's restore still count as locked).
   */
  'device-pf-flr-not-propagated',
  /** STOP_INTERFACE leaves the function's memory as it was (no scrub). */
  'device-no-scrub-on-stop',
] as const;

export type DsmFlaw = (typeof DSM_FLAWS)[number];

export function isDsmFlaw(name: string): name is DsmFlaw {
  return (DSM_FLAWS as readonly string[]).includes(name);
}

export function hasFlaw(s: Pick<DsmState, 'flaws'>, flaw: DsmFlaw): boolean {
  return s.flaws?.includes(flaw) === true;
}

/** A config-space security event the flawed DSM does not act on at all. */
export function flawIgnores(s: Pick<DsmState, 'flaws'>, r: ConfigEventRecord): boolean {
  const e = r.event;
  switch (e.kind) {
    case 'BAR_WRITE':
      return hasFlaw(s, 'device-bar-write-no-error');
    case 'MSIX_LOCKED_CHANGE':
      return hasFlaw(s, 'device-msix-change-not-caught');
    case 'FLR':
      return e.fromPf && hasFlaw(s, 'device-pf-flr-not-propagated');
    default:
      return false;
  }
}

/**
 * Whether the DSM skips its sweep of TDIs whose function disappeared: the
 * 'device-pf-flr-not-propagated' DSM only ever looks at the function a record names.
 */
export function flawSkipsRemovedSweep(s: Pick<DsmState, 'flaws'>): boolean {
  return hasFlaw(s, 'device-pf-flr-not-propagated');
}
