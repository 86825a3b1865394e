/**
 * The open design questions compared (SYSTEM.md section 6): the same search under each
 * position of one switch, and per position which invariants held and which broke, with the
 * shortest counterexample of each.
 */
import { switchesSchema } from '../schema.ts';
import type { ExploreConfig, ExploreOptions, ExploreReport } from './explore.ts';
import { exploreParallel } from './parallel.ts';

/** Each design switch and its positions, as the scenario file names them. */
export function switchPositions(): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const [name, schema] of Object.entries(switchesSchema.shape)) {
    out[name] = (schema.unwrap() as unknown as { options: readonly string[] }).options;
  }
  return out;
}

export interface Comparison {
  switch: string;
  positions: { position: string; report: ExploreReport }[];
}

/** @throws Error for a switch the world does not have */
export async function compareSwitch(
  cfg: ExploreConfig,
  name: string,
  o: ExploreOptions,
  workers = 1,
  onPosition?: (position: string) => void,
): Promise<Comparison> {
  const positions = switchPositions()[name];
  if (!positions) {
    throw new Error(
      `no design switch '${name}' (switches: ${Object.keys(switchPositions()).join(', ')})`,
    );
  }
  const out: Comparison = { switch: name, positions: [] };
  for (const position of positions) {
    onPosition?.(position);
    const world = { ...cfg.world, switches: { ...cfg.world.switches, [name]: position } };
    const outDir = o.outDir ? `${o.outDir}/${name}-${position}` : undefined;
    const report = await exploreParallel({ ...cfg, world }, { ...o, outDir }, workers);
    out.positions.push({ position, report });
  }
  return out;
}
