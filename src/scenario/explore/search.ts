/**
 * The search: the untrusted host's moves interleaved with the honest lifecycle (the
 * backbone), every step through the world's real operations, every invariant of SYSTEM.md
 * section 5 checked after every step. Two strategies over one world that is restored from
 * snapshots rather than replayed from the start:
 *
 * - random walks: each from a state of the honest lifecycle drawn per walk (restored from
 *   its snapshot: the lifecycle is stepped once), then each step either the backbone's next
 *   step or the adversary's move, steered to the (phase, move) pairs tried least; walk k
 *   draws from a generator seeded by (seed, k);
 * - bounded exhaustive (depth-first): every move from every state, the adversary's moves
 *   bounded by `depth` (backbone steps are free), states kept by key so a state reached
 *   twice with no more budget left is explored once.
 *
 * A violation is a break the step caused (one already standing before it is not new), found
 * with the path that led to it. A walk goes on after one; depth-first search does not go
 * deeper under it.
 */
import type { Invariant, Violation } from '../../world/invariants.ts';
import { type Actor, OPS } from '../../world/ops/index.ts';
import type { World, WorldSnapshot, WorldStep } from '../../world/world.ts';
import { moveOps, movesOf, opMoves, stepKey } from './moves.ts';
import { choiceRng } from './rng.ts';
import { stateKey } from './state-key.ts';
import { type At, Stepper, type StepTiming, type Transition } from './stepper.ts';

export interface SearchOptions {
  strategy: 'random' | 'dfs';
  /** Random: the longest walk. DFS: the most adversary moves on a path. */
  depth: number;
  /** Steps to spend (each performed step counts). */
  steps: number;
  seed: string;
  /** This search's part of the whole: walk k (random) or split node k (DFS) if k % count == index. */
  shard?: { index: number; count: number };
  actors?: readonly Actor[];
  /** The predicates checked after every step (default: all of SYSTEM.md section 5). */
  invariants?: readonly Invariant[];
  /** Random: the chance a step is the backbone's next one rather than a drawn move. */
  backboneBias?: number;
  /** Check the stepper's no-change shortcut at full cost (stepper.ts; for tests). */
  checkUnchanged?: boolean;
  /** Keep the outcomes of steps slower than this many ms (stepper.ts; tests vary it). */
  keepAboveMs?: number;
  /** Called every so often and at the end. */
  onProgress?: (p: SearchProgress) => void;
}

export interface SearchProgress {
  steps: number;
  states: number;
  violations: number;
  elapsedMs: number;
}

/** A violation and the steps from the root that reach it (the last one breaks it). */
export interface Found {
  violation: Violation;
  path: WorldStep[];
}

/**
 * Where a search starts: the root, and for random walks the honest lifecycle stepped once
 * from it (each state's snapshot, key, standing violations and phase), with what stepping
 * it cost and found. Plain data: a parallel search's parent steps the lifecycle and sends
 * this to its workers, which start from it rather than rebuild it (parallel.ts).
 */
export interface SearchStart {
  root: At;
  lifecycle?: { at: At; standing: string[]; phase: string }[];
  /** The slow steps' outcomes stepping the lifecycle kept (stepper.ts). */
  kept?: [string, Transition][];
  /** Steps stepping the lifecycle took, distinct states it met, what it broke. */
  steps: number;
  states: number;
  found: Found[];
}

export interface SearchResult extends SearchProgress {
  /** Per invariant, the shortest path found that breaks it. */
  found: Found[];
  walks: number;
  /** Where the steps' time went (stepper.ts). */
  timing: StepTiming;
}

/** How many states' moves a search keeps (moves.ts candidates cost config reads). */
const MOVES_KEPT = 4096;

/** A state's phase and the moves of each operation asked so far. */
interface StateMoves {
  phase: string;
  byOp: Map<string, WorldStep[]>;
}

class Search {
  walks = 0;
  readonly found = new Map<string, Found>();
  readonly rootKey: string;
  readonly stepper: Stepper;
  private readonly t0 = performance.now();
  private lastProgress = 0;

  constructor(
    readonly w: World,
    readonly root: WorldSnapshot,
    readonly backbone: readonly WorldStep[],
    readonly o: SearchOptions,
  ) {
    this.rootKey = stateKey(root);
    this.ops = moveOps({ actors: o.actors });
    this.stepper = new Stepper(w, o.invariants);
    this.stepper.checkUnchanged = o.checkUnchanged ?? false;
    if (o.keepAboveMs !== undefined) this.stepper.keepAboveMs = o.keepAboveMs;
  }

  get steps(): number {
    return this.stepper.steps;
  }

  get done(): boolean {
    return this.steps >= this.o.steps;
  }

  progress(force = false): void {
    const now = performance.now();
    if (!force && now - this.lastProgress < 250) return;
    this.lastProgress = now;
    this.o.onProgress?.(this.snapshotProgress());
  }

  snapshotProgress(): SearchProgress {
    return {
      steps: this.steps,
      states: this.stepper.states.size,
      violations: this.found.size,
      elapsedMs: performance.now() - this.t0,
    };
  }

  mine(k: number): boolean {
    const s = this.o.shard;
    return !s || k % s.count === s.index;
  }

  /**
   * Records what `path` broke. After a raw step (ops/types.ts WorldOp.raw) a break of the host
   * kernel's own records is the host's doing, not a finding.
   */
  record(fresh: Violation[], path: WorldStep[]): void {
    const raw = path.some((s) => OPS[s.do]?.raw === true);
    for (const v of fresh) {
      if (raw && v.component.startsWith('host/')) continue;
      const had = this.found.get(v.invariant);
      if (!had || had.path.length > path.length) {
        this.found.set(v.invariant, { violation: v, path: [...path] });
      }
    }
  }

  /** How often each operation (by its index in `ops`) and each step was drawn, by phase. */
  private readonly tried = new Map<string, { ops: number[]; steps: Map<string, number> }>();

  /** The operations whose steps are moves, in name order. */
  private readonly ops: string[];

  /**
   * The adversary's next move, steered to what it has tried least: among the operations
   * with a move here (then among that operation's steps) one of those drawn least often in
   * the current phase (the TDI states of the devices the VMs are given), the tie broken by
   * the walk's own generator. A uniform draw would meet a step one in thousands of times (70
   * operations, some with 75 candidates); this meets every step of every phase in turn, as a
   * fuzzer's coverage guidance does, and stays deterministic for a seed and a shard.
   *
   * Only the operations in the running are asked for their moves, one drawn at a time (the
   * next least drawn if none of them has one here): asking all 70 costs more than a step.
   */
  private draw(pick: (n: number) => number, key: string): WorldStep | undefined {
    const m = this.movesAt(key);
    let tried = this.tried.get(m.phase);
    if (!tried) {
      tried = { ops: this.ops.map(() => 0), steps: new Map() };
      this.tried.set(m.phase, tried);
    }
    const counts = tried.ops;
    for (let floor = -1; ; ) {
      let min = Number.POSITIVE_INFINITY;
      for (const n of counts) if (n > floor && n < min) min = n;
      if (min === Number.POSITIVE_INFINITY) return undefined;
      // Drawn among those least tried, asked for their moves one at a time: one with none
      // here leaves the draw.
      const best: number[] = [];
      for (let i = 0; i < counts.length; i++) if (counts[i] === min) best.push(i);
      while (best.length > 0) {
        const i = pick(best.length);
        const steps = this.opMovesAt(m, this.ops[best[i]]);
        if (steps.length === 0) {
          best.splice(i, 1);
          continue;
        }
        counts[best[i]] = min + 1;
        let least = Number.POSITIVE_INFINITY;
        let fewest: WorldStep[] = [];
        for (const s of steps) {
          const n = tried.steps.get(stepKey(s)) ?? 0;
          if (n < least) {
            least = n;
            fewest = [s];
          } else if (n === least) fewest.push(s);
        }
        const chosen = fewest[pick(fewest.length)];
        tried.steps.set(stepKey(chosen), least + 1);
        return chosen;
      }
      floor = min;
    }
  }

  /** Phase and moves by state key (both are functions of the state), the latest kept. */
  private readonly moves = new Map<string, StateMoves>();

  /** The phase and the moves asked for so far of the world now, which is in state `key`. */
  private movesAt(key: string): StateMoves {
    let m = this.moves.get(key);
    if (!m) {
      m = { phase: this.phase(), byOp: new Map() };
      this.moves.set(key, m);
      if (this.moves.size > MOVES_KEPT) this.moves.delete(this.moves.keys().next().value as string);
    }
    return m;
  }

  /** Operation `op`'s moves in the state `m` is of (the world is in it). */
  private opMovesAt(m: StateMoves, op: string): WorldStep[] {
    let c = m.byOp.get(op);
    if (!c) {
      c = opMoves(this.w, op);
      m.byOp.set(op, c);
    }
    return c;
  }

  /** The honest lifecycle's states, each reached once: walks start from them. */
  readonly lifecycle: { at: At; standing: Set<string>; phase: string }[] = [];

  /** The phase of the world now: the TDI states of the devices the VMs are given. */
  private phase(): string {
    return [...this.w.vms.values()]
      .flatMap((v) =>
        (v.config.devices ?? []).map((d) => this.w.tdiState({ do: '', tdi: d.tdi }) ?? '-'),
      )
      .join(',');
  }

  /** Steps the honest lifecycle once from the root (counted), keeping every state. */
  async stepLifecycle(): Promise<void> {
    this.stepper.restore(this.root);
    let at: At = { snap: this.root, key: this.rootKey };
    let standing = new Set<string>();
    this.lifecycle.push({ at, standing, phase: this.phase() });
    for (const [i, step] of this.backbone.entries()) {
      if (this.done) return;
      const r = await this.stepper.step(step, at, standing);
      if (r.fresh.length > 0) this.record(r.fresh, this.backbone.slice(0, i + 1));
      at = { snap: r.after, key: r.key };
      standing = r.standing;
      this.lifecycle.push({ at, standing, phase: this.phase() });
    }
  }

  /** Takes the lifecycle another search stepped (its steps are not counted again). */
  takeLifecycle(l: NonNullable<SearchStart['lifecycle']>): void {
    for (const s of l) this.lifecycle.push({ ...s, standing: new Set(s.standing) });
  }

  async randomWalks(): Promise<void> {
    const bias = this.o.backboneBias ?? 0.25;
    if (this.lifecycle.length === 0) await this.stepLifecycle();
    // Walks start in each phase of the lifecycle (unlocked, locked, running, ...) as often,
    // whatever number of lifecycle steps each spans.
    const phases = new Map<string, number[]>();
    for (const [pos, l] of this.lifecycle.entries()) {
      phases.set(l.phase, [...(phases.get(l.phase) ?? []), pos]);
    }
    const starts = [...phases.values()];
    for (let k = 0; !this.done; k++) {
      if (!this.mine(k)) continue;
      this.walks++;
      const pick = choiceRng(`${this.o.seed}/${k}`);
      // A walk starts where the honest lifecycle got to (restored, not replayed), so the
      // adversary meets the device in every state the lifecycle reaches; from there it
      // interleaves.
      const inPhase = starts[pick(starts.length)];
      let pos = inPhase[pick(inPhase.length)];
      const start = this.lifecycle[pos];
      this.stepper.restore(start.at.snap);
      let standing = start.standing;
      let at = start.at;
      const path: WorldStep[] = this.backbone.slice(0, pos);
      for (let d = 0; d < this.o.depth && !this.done; d++) {
        let step: WorldStep;
        if (pos < this.backbone.length && pick(1000) < bias * 1000) {
          step = this.backbone[pos++];
        } else {
          const drawn = this.draw(pick, at.key);
          if (!drawn) break;
          step = drawn;
        }
        path.push(step);
        const r = await this.stepper.step(step, at, standing);
        standing = r.standing;
        at = { snap: r.after, key: r.key };
        // The walk goes on: what breaks next may be another invariant (each is shrunk apart).
        if (r.fresh.length > 0) this.record(r.fresh, path);
        this.progress();
      }
    }
  }

  async dfs(): Promise<void> {
    const visited = new Map<string, number>();
    let split = 0;
    const SPLIT_DEPTH = 2;
    const visit = async (
      at: At,
      pos: number,
      budget: number,
      path: WorldStep[],
      standing: Set<string>,
    ): Promise<void> => {
      if (this.done) return;
      if (path.length === SPLIT_DEPTH && !this.mine(split++)) return;
      const key = `${at.key} ${pos}`;
      if ((visited.get(key) ?? -1) >= budget) return;
      visited.set(key, budget);
      this.stepper.restore(at.snap);
      const moves: { step: WorldStep; backbone: boolean }[] = [];
      if (pos < this.backbone.length) moves.push({ step: this.backbone[pos], backbone: true });
      if (budget > 0) {
        const own = pos < this.backbone.length ? stepKey(this.backbone[pos]) : '';
        for (const m of movesOf(this.w, { actors: this.o.actors })) {
          if (stepKey(m) !== own) moves.push({ step: m, backbone: false });
        }
      }
      for (const m of moves) {
        if (this.done) return;
        this.stepper.restore(at.snap);
        const p = [...path, m.step];
        const r = await this.stepper.step(m.step, at, standing);
        this.progress();
        if (r.fresh.length > 0) {
          this.record(r.fresh, p);
          continue;
        }
        await visit(
          { snap: r.after, key: r.key },
          pos + (m.backbone ? 1 : 0),
          budget - (m.backbone ? 0 : 1),
          p,
          r.standing,
        );
      }
    };
    this.walks = 1;
    await visit({ snap: this.root, key: this.rootKey }, 0, this.o.depth, [], new Set());
  }
}

/**
 * Explores `w` from its current state (the root) with `backbone` as the honest lifecycle.
 * The world is left in whatever state the search ended in.
 */
export async function search(
  w: World,
  backbone: readonly WorldStep[],
  o: SearchOptions,
  start?: SearchStart,
): Promise<SearchResult> {
  const s = new Search(w, start?.root.snap ?? w.snapshot(), backbone, o);
  if (start?.lifecycle) s.takeLifecycle(start.lifecycle);
  if (start?.kept) s.stepper.keep(start.kept);
  if (o.strategy === 'dfs') await s.dfs();
  else await s.randomWalks();
  s.progress(true);
  return {
    ...s.snapshotProgress(),
    found: [...s.found.values()].sort((a, b) =>
      a.violation.invariant.localeCompare(b.violation.invariant, 'en', { numeric: true }),
    ),
    walks: s.walks,
    timing: { ...s.stepper.timing },
  };
}

/**
 * The start of a search of `w` from its current state: for random walks the honest
 * lifecycle stepped once (what a parallel search's parent does before its workers start).
 */
export async function searchStart(
  w: World,
  backbone: readonly WorldStep[],
  o: SearchOptions,
): Promise<SearchStart> {
  const s = new Search(w, w.snapshot(), backbone, o);
  const root = { snap: s.root, key: s.rootKey };
  if (o.strategy === 'dfs') return { root, steps: 0, states: 0, found: [] };
  await s.stepLifecycle();
  return {
    root,
    lifecycle: s.lifecycle.map((l) => ({ ...l, standing: [...l.standing] })),
    kept: s.stepper.kept(),
    steps: s.steps,
    states: s.stepper.states.size,
    found: [...s.found.values()],
  };
}
