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
import { movesByOp, movesOf, stepKey } from './moves.ts';
import { choiceRng } from './rng.ts';
import { stateKey } from './state-key.ts';
import { type At, Stepper } from './stepper.ts';

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

export interface SearchResult extends SearchProgress {
  /** Per invariant, the shortest path found that breaks it. */
  found: Found[];
  walks: number;
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
    this.stepper = new Stepper(w, o.invariants);
    this.stepper.checkUnchanged = o.checkUnchanged ?? false;
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

  /** How often each (phase, operation) and (phase, step) was drawn, by this search. */
  private readonly tried = new Map<string, number>();

  /**
   * The adversary's next move, steered to what it has tried least: among the operations
   * (then among that operation's steps) one of those drawn least often in the current phase
   * (the TDI states of the devices the VMs are given), the tie broken by the walk's own
   * generator. A uniform draw would meet a step one in thousands of times (70 operations,
   * some with 75 candidates); this meets every step of every phase in turn, as a fuzzer's
   * coverage guidance does, and stays deterministic for a seed and a shard.
   */
  private draw(pick: (n: number) => number): WorldStep | undefined {
    const ops = movesByOp(this.w, { actors: this.o.actors });
    if (ops.length === 0) return undefined;
    const phase = [...this.w.vms.values()]
      .flatMap((v) =>
        (v.config.devices ?? []).map((d) => this.w.tdiState({ do: '', tdi: d.tdi }) ?? '-'),
      )
      .join(',');
    const least = <T>(xs: readonly T[], key: (x: T) => string): T => {
      let min = Number.POSITIVE_INFINITY;
      let best: T[] = [];
      for (const x of xs) {
        const n = this.tried.get(`${phase}|${key(x)}`) ?? 0;
        if (n < min) {
          min = n;
          best = [x];
        } else if (n === min) best.push(x);
      }
      const chosen = best[pick(best.length)];
      const k = `${phase}|${key(chosen)}`;
      this.tried.set(k, (this.tried.get(k) ?? 0) + 1);
      return chosen;
    };
    const moves = least(ops, (m) => m[0].do);
    return least(moves, stepKey);
  }

  /** The honest lifecycle's states, each reached once: walks start from them. */
  private readonly lifecycle: { at: At; standing: Set<string> }[] = [];

  /**
   * The state after the backbone's first `k` steps (stepped once, on first need, and
   * counted then), or undefined when the lifecycle broke an invariant or stopped before it.
   */
  private async lifecycleAt(k: number): Promise<{ at: At; standing: Set<string> } | undefined> {
    if (this.lifecycle.length === 0) {
      this.lifecycle.push({ at: { snap: this.root, key: this.rootKey }, standing: new Set() });
    }
    while (this.lifecycle.length <= k && !this.done) {
      const i = this.lifecycle.length - 1;
      const from = this.lifecycle[i];
      this.w.restore(from.at.snap);
      const r = await this.stepper.step(this.backbone[i], from.at, from.standing);
      if (r.fresh.length > 0) this.record(r.fresh, this.backbone.slice(0, i + 1));
      this.lifecycle.push({ at: { snap: r.after, key: r.key }, standing: r.standing });
    }
    return this.lifecycle[k];
  }

  async randomWalks(): Promise<void> {
    const bias = this.o.backboneBias ?? 0.5;
    for (let k = 0; !this.done; k++) {
      if (!this.mine(k)) continue;
      this.walks++;
      const pick = choiceRng(`${this.o.seed}/${k}`);
      // A walk starts where the honest lifecycle got to after a number of steps drawn for it
      // (restored, not replayed), so the adversary meets the device in every state the
      // lifecycle reaches; from there it interleaves.
      let pos = pick(this.backbone.length + 1);
      const start = await this.lifecycleAt(pos);
      if (!start) break;
      this.w.restore(start.at.snap);
      let standing = start.standing;
      let at = start.at;
      const path: WorldStep[] = this.backbone.slice(0, pos);
      for (let d = 0; d < this.o.depth && !this.done; d++) {
        let step: WorldStep;
        if (pos < this.backbone.length && pick(1000) < bias * 1000) {
          step = this.backbone[pos++];
        } else {
          const drawn = this.draw(pick);
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
      this.w.restore(at.snap);
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
        this.w.restore(at.snap);
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
): Promise<SearchResult> {
  const s = new Search(w, w.snapshot(), backbone, o);
  if (o.strategy === 'dfs') await s.dfs();
  else await s.randomWalks();
  s.progress(true);
  return {
    ...s.snapshotProgress(),
    found: [...s.found.values()].sort((a, b) =>
      a.violation.invariant.localeCompare(b.violation.invariant, 'en', { numeric: true }),
    ),
    walks: s.walks,
  };
}
