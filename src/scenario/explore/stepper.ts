/**
 * One step of the explorer: the world's real operation, then every invariant, with the
 * violations the step caused told apart from those already standing. A step that costs
 * real cryptography (a connect, an attestation, a TDISP message in a secured session) is
 * done once per state: its outcome (the state it led to, what it broke, what it answered) is
 * kept and restored the next time the same step is taken from the same state, which is
 * sound because a world's next state is a function of its snapshot and the step (every
 * random choice comes from the seeded stream the snapshot carries).
 */

import { canonicalHash } from '../../world/hash.ts';
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
export const KEEP_ABOVE_MS = 1;
const CACHE_ENTRIES = 512;

/** What a step answered, as a counterexample records it. */
export interface StepAnswer {
  ok: boolean;
  errno?: string;
}

/** A step's kept outcome (plain data: a parallel search's parent hands its own to workers). */
export interface Transition {
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

/**
 * Where a stepper's time went, in ms: the world's own operations (the real handlers), the
 * invariants, snapshots and state keys. What is left of a search's time is the search's own
 * (drawing moves, restoring states).
 */
export interface StepTiming {
  operationsMs: number;
  invariantsMs: number;
  snapshotsMs: number;
  keysMs: number;
}

export const noTiming = (): StepTiming => ({
  operationsMs: 0,
  invariantsMs: 0,
  snapshotsMs: 0,
  keysMs: 0,
});

/** A state the explorer is at: its snapshot and key. */
export interface At {
  snap: WorldSnapshot;
  key: string;
}

export const violationKey = (v: Violation) => `${v.invariant} ${v.component} ${v.detail}`;

export class Stepper {
  steps = 0;
  readonly states = new Set<string>();
  readonly timing = noTiming();
  private readonly cache = new Map<string, Transition>();

  /**
   * Check the premise of the no-change shortcut (a refusal with no event left the world as
   * it was) on every such step, at full cost: tests turn it on.
   */
  checkUnchanged = false;

  /**
   * Which steps' outcomes are kept: those slower than this (ms). A timing decision, so it
   * must not change what the search finds, only how fast: tests set it to keep all or none.
   */
  keepAboveMs = KEEP_ABOVE_MS;

  /**
   * The snapshot the world is in as far as this stepper knows (its last step's outcome or its
   * last restore), and the world's step count then: a step performed by anyone else since
   * makes it unknown.
   */
  private now: { snap: WorldSnapshot; performed: number } | undefined;

  constructor(
    readonly w: World,
    /** The predicates checked after every step (default: all of SYSTEM.md section 5). */
    readonly invariants: readonly Invariant[] = INVARIANTS,
  ) {}

  /**
   * Performs `step` in the world, which is in state `from` (its snapshot, not changed since
   * and not to be: it is the invariants' view of before the step).
   */
  async step(step: WorldStep, from: At, standing: ReadonlySet<string>): Promise<Stepped> {
    this.steps++;
    if (this.checkUnchanged && this.now?.performed === this.w.performed) {
      if (this.now.snap !== from.snap)
        throw new Error(`${stepKey(step)} taken from a state the world is not in`);
    }
    const ck = `${from.key} ${stepKey(step)}`;
    let t = this.cache.get(ck);
    if (t) {
      this.cache.delete(ck);
      this.cache.set(ck, t);
      this.restore(t.after);
    } else {
      const timing = this.timing;
      const t0 = performance.now();
      const before = { ...this.w.view(), p: from.snap.platform.p, h: from.snap.h };
      const r = await this.w.perform(step);
      this.w.trace.records.length = 0;
      const t1 = performance.now();
      const violations = checkInvariants(this.w.view(), r.events, before, this.invariants);
      const answer = { ok: r.ok, errno: r.errno };
      const t2 = performance.now();
      timing.operationsMs += t1 - t0;
      timing.invariantsMs += t2 - t1;
      // A refusal that left no event did not touch the world (the operations refuse before
      // they change anything): no snapshot to take, no state to key.
      if (!r.ok && r.events.length === 0) {
        if (this.checkUnchanged) this.assertUnchanged(step, from.snap);
        t = { after: from.snap, violations, answer, key: from.key };
      } else {
        const after = this.w.snapshot(from.snap);
        const t3 = performance.now();
        t = { after, violations, answer, key: stateKey(after) };
        timing.snapshotsMs += t3 - t2;
        timing.keysMs += performance.now() - t3;
      }
      if (performance.now() - t0 > this.keepAboveMs) {
        this.cache.set(ck, t);
        if (this.cache.size > CACHE_ENTRIES) {
          this.cache.delete(this.cache.keys().next().value as string);
        }
      }
    }
    this.now = { snap: t.after, performed: this.w.performed };
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
   * Puts the world in state `snap`. Only what differs from the state the world is known to be
   * in is restored (World.restore's `now`): going back one step costs what the step changed.
   * The premise, that nothing but reads touched the world since, is what kept outcomes rest
   * on too; `checkUnchanged` checks it here at full cost.
   */
  restore(snap: WorldSnapshot): void {
    const now = this.now?.performed === this.w.performed ? this.now.snap : undefined;
    this.w.restore(snap, now);
    if (this.checkUnchanged && now !== undefined) {
      if (canonicalHash(this.w.snapshot()) !== canonicalHash(snap)) {
        throw new Error(
          'a restore that left alone what the world shares with its state changed it',
        );
      }
    }
    this.now = { snap, performed: this.w.performed };
  }

  /** The outcomes kept, (state key, step) to outcome, oldest first. */
  kept(): [string, Transition][] {
    return [...this.cache];
  }

  /** Takes outcomes another stepper kept (of a world built from the same config). */
  keep(entries: readonly [string, Transition][]): void {
    for (const [k, t] of entries) this.cache.set(k, t);
    while (this.cache.size > CACHE_ENTRIES) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
  }

  private assertUnchanged(step: WorldStep, was: WorldSnapshot): void {
    if (canonicalHash(this.w.snapshot()) !== canonicalHash(was)) {
      throw new Error(`${stepKey(step)} refused with no event but changed the world`);
    }
  }

  /**
   * Replays `path` from `root` and returns each step's outcome, stopping after the first step
   * that breaks `invariant` (when given).
   */
  async replay(root: At, path: readonly WorldStep[], invariant?: string): Promise<Stepped[]> {
    this.restore(root.snap);
    let at = root;
    let standing = new Set<string>();
    const out: Stepped[] = [];
    for (const step of path) {
      const r = await this.step(step, at, standing);
      out.push(r);
      if (invariant !== undefined && r.fresh.some((v) => v.invariant === invariant)) break;
      at = { snap: r.after, key: r.key };
      standing = r.standing;
    }
    return out;
  }
}
