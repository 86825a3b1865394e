/**
 * One step of the explorer: the world's real operation, then every invariant, with the
 * violations the step caused told apart from those already standing. A step that costs
 * real cryptography (a connect, an attestation, a TDISP message in a secured session) is
 * done once per state: its outcome (the state it led to, what it broke, what it answered) is
 * kept and restored the next time the same step is taken from the same state, which is
 * sound because a world's next state is a function of its snapshot and the step (every
 * random choice comes from the seeded stream the snapshot carries).
 */
import {
  checkInvariants,
  INVARIANTS,
  type Invariant,
  type Violation,
} from '../../world/invariants.ts';
import type { World, WorldSnapshot, WorldStep } from '../../world/world.ts';
import { stepKey } from './moves.ts';
import { stateKey } from './state-key.ts';

/** Steps slower than this are kept (state, step) -> outcome; the rest are cheaper to redo. */
const CACHE_ABOVE_MS = 1;
const CACHE_ENTRIES = 512;

/** What a step answered, as a counterexample records it. */
export interface StepAnswer {
  ok: boolean;
  errno?: string;
}

interface Transition {
  after: WorldSnapshot;
  violations: Violation[];
  answer: StepAnswer;
  key: string;
}

export interface Stepped {
  /** The violations this step caused (not standing before it). */
  fresh: Violation[];
  /** Every violation standing after it (keys). */
  standing: Set<string>;
  /** The state it led to. */
  after: WorldSnapshot;
  key: string;
  answer: StepAnswer;
}

export const violationKey = (v: Violation) => `${v.invariant} ${v.component} ${v.detail}`;

export class Stepper {
  steps = 0;
  readonly states = new Set<string>();
  private readonly cache = new Map<string, Transition>();

  constructor(
    readonly w: World,
    /** The predicates checked after every step (default: all of SYSTEM.md section 5). */
    readonly invariants: readonly Invariant[] = INVARIANTS,
  ) {}

  /** Performs `step` in the world, which is in the state keyed `from`. */
  async step(step: WorldStep, from: string, standing: ReadonlySet<string>): Promise<Stepped> {
    this.steps++;
    const ck = `${from} ${stepKey(step)}`;
    let t = this.cache.get(ck);
    if (t) {
      this.cache.delete(ck);
      this.cache.set(ck, t);
      this.w.restore(t.after);
    } else {
      const t0 = performance.now();
      const before = this.w.frozenView();
      const r = await this.w.perform(step);
      this.w.trace.records.length = 0;
      const violations = checkInvariants(this.w.view(), r.events, before, this.invariants);
      const after = this.w.snapshot();
      t = { after, violations, answer: { ok: r.ok, errno: r.errno }, key: stateKey(after) };
      if (performance.now() - t0 > CACHE_ABOVE_MS) {
        this.cache.set(ck, t);
        if (this.cache.size > CACHE_ENTRIES) {
          this.cache.delete(this.cache.keys().next().value as string);
        }
      }
    }
    this.states.add(t.key);
    return {
      fresh: t.violations.filter((v) => !standing.has(violationKey(v))),
      standing: new Set(t.violations.map(violationKey)),
      after: t.after,
      key: t.key,
      answer: t.answer,
    };
  }

  /**
   * Replays `path` from `root` and returns each step's outcome, stopping after the first step
   * that breaks `invariant` (when given).
   */
  async replay(
    root: WorldSnapshot,
    rootKey: string,
    path: readonly WorldStep[],
    invariant?: string,
  ): Promise<Stepped[]> {
    this.w.restore(root);
    let at = rootKey;
    let standing = new Set<string>();
    const out: Stepped[] = [];
    for (const step of path) {
      const r = await this.step(step, at, standing);
      out.push(r);
      if (invariant !== undefined && r.fresh.some((v) => v.invariant === invariant)) break;
      at = r.key;
      standing = r.standing;
    }
    return out;
  }
}
