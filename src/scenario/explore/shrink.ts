/**
 * Shrinking a counterexample: the fewest steps (found greedily, as delta debugging does)
 * that still break the same invariant. Each candidate is replayed from the root through
 * the stepper, whose kept transitions make the replays cheap.
 */
import type { WorldSnapshot, WorldStep } from '../../world/world.ts';
import type { Stepper } from './stepper.ts';

/** Most replays one shrink may spend. */
const MAX_REPLAYS = 400;

export async function shrink(
  stepper: Stepper,
  root: WorldSnapshot,
  rootKey: string,
  path: readonly WorldStep[],
  invariant: string,
  /** The component the break was in: a shorter path must break the same invariant there. */
  component?: string,
): Promise<WorldStep[]> {
  let replays = 0;
  /** How many steps of `p` it takes to break the invariant (0: it does not break). */
  const breaksAt = async (p: readonly WorldStep[]): Promise<number> => {
    replays++;
    const out = await stepper.replay({ snap: root, key: rootKey }, p, invariant);
    const same = (v: { invariant: string; component: string }) =>
      v.invariant === invariant && (component === undefined || v.component === component);
    return out.at(-1)?.fresh.some(same) ? out.length : 0;
  };
  const n = await breaksAt(path);
  if (n === 0) return [...path];
  let best = path.slice(0, n);
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1 && replays < MAX_REPLAYS; ) {
    let removed = false;
    for (let i = 0; i + chunk <= best.length && replays < MAX_REPLAYS; ) {
      const candidate = [...best.slice(0, i), ...best.slice(i + chunk)];
      const m = candidate.length > 0 ? await breaksAt(candidate) : 0;
      if (m > 0) {
        best = candidate.slice(0, m);
        removed = true;
      } else {
        i += chunk;
      }
    }
    if (!removed) chunk >>= 1;
    else chunk = Math.min(chunk, Math.max(1, best.length >> 1));
  }
  return best;
}
