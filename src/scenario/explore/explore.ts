/**
 * `teeio explore` as a library: build the world a config describes, search it (search.ts),
 * shrink every violation found to its fewest steps (shrink.ts) and write each as a scenario
 * file `teeio run` replays (counterexample.ts). What is real and what is kept: every step
 * goes through the world's real operations (real SPDM, real signatures, real AES-GCM); a
 * step that costs real cryptography is done once per (state, step) and its outcome restored
 * after (stepper.ts), and walks start from a snapshot, not from a replay.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Violation } from '../../world/invariants.ts';
import type { World, WorldStep } from '../../world/world.ts';
import type { Scenario } from '../schema.ts';
import { SCENARIO_FORMAT } from '../schema.ts';
import { scenarioWorld } from '../world.ts';
import { counterexampleScenario, scenarioYaml } from './counterexample.ts';
import { defaultBackbone } from './moves.ts';
import { type Found, type SearchOptions, type SearchStart, search, searchStart } from './search.ts';
import { shrink } from './shrink.ts';
import { stateKey } from './state-key.ts';
import { Stepper, type StepTiming } from './stepper.ts';

export interface ExploreConfig {
  /** The world, as a scenario file's `world` section. */
  world: Scenario['world'];
  /** The file relative paths in `world` (the policy) are relative to; default: the cwd. */
  file?: string;
  /** The honest lifecycle the adversary interleaves with; default: defaultBackbone. */
  backbone?: WorldStep[];
}

export type ExploreOptions = Omit<SearchOptions, 'onProgress'> & {
  /** Where counterexample scenarios are written; none when absent. */
  outDir?: string;
  onProgress?: SearchOptions['onProgress'];
};

export interface ExploreViolation extends Violation {
  /** The shrunk counterexample's steps. */
  steps: WorldStep[];
  /** How long the path was when found, before shrinking. */
  foundSteps: number;
  /** The counterexample scenario (YAML). */
  scenario: string;
  /** Where it was written, when it was. */
  file?: string;
}

export interface ExploreReport {
  flavour: string;
  flaws: string[];
  strategy: SearchOptions['strategy'];
  seed: string;
  depth: number;
  shard?: { index: number; count: number };
  steps: number;
  /** Distinct world states seen. */
  states: number;
  walks: number;
  elapsedMs: number;
  stepsPerSecond: number;
  /**
   * Where the steps' time went (ms, summed over workers): the world's own operations, the
   * invariants, snapshots, state keys. Absent in a report of an older teeio.
   */
  timing?: StepTiming;
  violations: ExploreViolation[];
}

/** The seed of an explored world whose config names none (a scenario's default is its name). */
const EXPLORE_SEED = 'explore';

/** The world of `cfg`, built as a scenario with that world section would build it. */
export function exploreWorld(cfg: ExploreConfig): Promise<World> {
  const s: Scenario = {
    teeio: SCENARIO_FORMAT,
    name: EXPLORE_SEED,
    world: cfg.world,
    steps: [{ do: 'host.tsm/connect' }],
  };
  return scenarioWorld(s, cfg.file ?? path.join(process.cwd(), 'explore.yaml'));
}

/** The world section as a counterexample written to `outDir` must name it (the policy path). */
function worldFor(cfg: ExploreConfig, outDir: string | undefined): Scenario['world'] {
  const w = structuredClone(cfg.world);
  if (w.policy !== undefined) {
    const abs = path.resolve(path.dirname(cfg.file ?? path.join(process.cwd(), 'x')), w.policy);
    w.policy = outDir ? path.relative(outDir, abs) : abs;
  }
  return w;
}

/**
 * Where a search of `cfg` starts (search.ts searchStart): what a parallel search's parent
 * computes once and sends to its workers.
 */
export async function exploreStart(cfg: ExploreConfig, o: ExploreOptions): Promise<SearchStart> {
  const w = await exploreWorld(cfg);
  return searchStart(w, cfg.backbone ?? defaultBackbone(w), o);
}

/**
 * Searches only (no shrinking): what a worker or a shard does; from `start` when given (the
 * world is still built here, for its engines, then restored to it).
 */
export async function exploreSearch(
  cfg: ExploreConfig,
  o: ExploreOptions,
  start?: SearchStart,
): Promise<{ report: ExploreReport; found: Found[] }> {
  const w = await exploreWorld(cfg);
  const backbone = cfg.backbone ?? defaultBackbone(w);
  const r = await search(w, backbone, o, start);
  return {
    report: {
      flavour: cfg.world.flavour,
      flaws: [...(cfg.world.flaws ?? [])],
      strategy: o.strategy,
      seed: o.seed,
      depth: o.depth,
      shard: o.shard,
      steps: r.steps,
      states: r.states,
      walks: r.walks,
      elapsedMs: r.elapsedMs,
      stepsPerSecond: r.elapsedMs > 0 ? (r.steps * 1000) / r.elapsedMs : 0,
      timing: r.timing,
      violations: [],
    },
    found: r.found,
  };
}

/**
 * Shrinks each found violation and makes its counterexample scenario (written to
 * `outDir` when given), in a fresh world of `cfg`.
 */
export async function counterexamples(
  cfg: ExploreConfig,
  found: readonly Found[],
  outDir?: string,
  invariants?: SearchOptions['invariants'],
): Promise<ExploreViolation[]> {
  if (found.length === 0) return [];
  const w = await exploreWorld(cfg);
  const root = w.snapshot();
  const rootKey = stateKey(root);
  const stepper = new Stepper(w, invariants);
  const out: ExploreViolation[] = [];
  for (const f of found) {
    const id = f.violation.invariant;
    const steps = await shrink(stepper, root, rootKey, f.path, id, f.violation.component);
    const outcomes = await stepper.replay({ snap: root, key: rootKey }, steps, id);
    const broke =
      outcomes
        .at(-1)
        ?.fresh.find((v) => v.invariant === id && v.component === f.violation.component) ??
      f.violation;
    const world: Scenario['world'] = {
      ...worldFor(cfg, outDir),
      // What the explored world had by default, spelled out: the replay builds the same one.
      seed: cfg.world.seed ?? EXPLORE_SEED,
      vms:
        cfg.world.vms ??
        [...w.vms.values()].map((v) => ({ name: v.name, devices: v.config.devices })),
    };
    const yaml = scenarioYaml(counterexampleScenario(world, broke, steps, outcomes));
    let file: string | undefined;
    if (outDir) {
      mkdirSync(outDir, { recursive: true });
      const flaws = (cfg.world.flaws ?? []).join('+');
      file = path.join(
        outDir,
        `${cfg.world.flavour}-${flaws ? `${flaws}-` : ''}${id}-${broke.name}.yaml`,
      );
      writeFileSync(file, yaml);
    }
    out.push({ ...broke, steps, foundSteps: f.path.length, scenario: yaml, file });
  }
  return out;
}

/** Searches, then shrinks and writes what it found. */
export async function explore(cfg: ExploreConfig, o: ExploreOptions): Promise<ExploreReport> {
  const { report, found } = await exploreSearch(cfg, o);
  report.violations = await counterexamples(cfg, found, o.outDir, o.invariants);
  return report;
}
