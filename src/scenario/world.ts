/**
 * The world a scenario file describes (its `world` section as a WorldConfig): the flavour,
 * the device profile, the design switches, the VMs with the TDIs they get, the seed, and the
 * guests' policy file relative to the scenario.
 */
import path from 'node:path';
import type { WorldCapture } from '../world/platform-world.ts';
import type { Trace } from '../world/trace.ts';
import { World } from '../world/world.ts';
import type { ScenarioCatalogue } from './load.ts';
import type { Scenario } from './schema.ts';

/** What a scenario may name: the world's operations. */
export const CATALOGUE: ScenarioCatalogue = { operations: World.operations };

/** Builds the world of scenario `s`, loaded from `file` (`capture`: --pcap / --keylog). */
export function scenarioWorld(
  s: Scenario,
  file: string,
  trace?: Trace,
  capture?: WorldCapture,
): Promise<World> {
  const w = s.world;
  return World.create(
    {
      flavour: w.flavour,
      seed: w.seed ?? s.name,
      profile: w.profile,
      switches: w.switches,
      vms: w.vms,
      flaws: w.flaws,
      policy: w.policy === undefined ? undefined : path.resolve(path.dirname(file), w.policy),
    },
    trace,
    capture,
  );
}
