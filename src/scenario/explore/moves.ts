/**
 * The explorer's moves in a world: every operation's candidate steps (ops/types.ts), and the
 * honest lifecycle the adversary's moves are interleaved with (the backbone).
 */
import { GUEST_LIFECYCLE } from '../../world/ops/guest-vfio.ts';
import { type Actor, OPS } from '../../world/ops/index.ts';
import type { World, WorldStep } from '../../world/world.ts';

/** Keys of steps already keyed (the moves of a state are kept, so their steps recur). */
const STEP_KEYS = new WeakMap<WorldStep, string>();

/** A step's identity, for sets and for the order moves are drawn in. */
export function stepKey(s: WorldStep): string {
  let k = STEP_KEYS.get(s);
  if (k === undefined) {
    k = keyOf(s);
    STEP_KEYS.set(s, k);
  }
  return k;
}

const keyOf = (s: WorldStep): string =>
  `${s.do}${s.vm ? ` vm=${s.vm}` : ''}${s.tdi !== undefined ? ` tdi=${s.tdi}` : ''}${
    s.args
      ? ` ${Object.entries(s.args)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : ''
  }`;

/** One step per VM and TDI given to it (guest and VMM operations), or per TDI (the rest). */
function defaultCandidates(w: World, name: string, actor: Actor): WorldStep[] {
  if (actor === 'guest' || actor === 'vmm') {
    return [...w.vms.values()].flatMap((v) =>
      (v.config.devices ?? []).map((d) => ({ do: name, vm: v.name, tdi: d.tdi })),
    );
  }
  return w.pw.dev.tdis().map((t) => ({ do: name, tdi: t.fn }));
}

export interface MoveFilter {
  /** Actors whose operations are moves (default: all). */
  actors?: readonly Actor[];
}

/** The operations whose steps are moves, in name order (the order moves are tried and drawn in). */
export function moveOps(filter: MoveFilter = {}): string[] {
  return Object.keys(OPS)
    .sort()
    .filter((name) => !filter.actors || filter.actors.includes(OPS[name].actor));
}

/** The candidate steps of operation `name` in `w` now (none: the operation has no move here). */
export function opMoves(w: World, name: string): WorldStep[] {
  const op = OPS[name];
  return op.candidates ? op.candidates(w) : defaultCandidates(w, name, op.actor);
}

/**
 * Every step worth trying in `w` now, per operation (operations in name order, those with no
 * candidate left out). A random walk draws the operation first, then its step, so an operation
 * with 75 candidate config writes is not 75 times likelier than one with a single step.
 */
export function movesByOp(w: World, filter: MoveFilter = {}): WorldStep[][] {
  return moveOps(filter)
    .map((name) => opMoves(w, name))
    .filter((c) => c.length > 0);
}

/** Every step worth trying in `w` now, in a fixed order (operation name, then candidates). */
export function movesOf(w: World, filter: MoveFilter = {}): WorldStep[] {
  return movesByOp(w, filter).flat();
}

/**
 * The honest lifecycle of every VM and TDI (SYSTEM.md section 4), the order a correct host,
 * VMM and guest would go in: connect; per VM create and assign; per TDI lock, attest,
 * accept, use, stop using, unlock, by whoever the device's role makes attester and user
 * (GUEST_LIFECYCLE); release, destroy; disconnect.
 */
export function defaultBackbone(w: World): WorldStep[] {
  const vms = [...w.vms.values()];
  const out: WorldStep[] = [{ do: 'host.tsm/connect' }];
  for (const v of vms) {
    out.push({ do: 'vmm.create-vm', vm: v.name });
    for (const d of v.config.devices ?? []) out.push({ do: 'vmm.assign', vm: v.name, tdi: d.tdi });
  }
  for (const v of vms) {
    for (const d of v.config.devices ?? []) {
      const at = { vm: v.name, tdi: d.tdi };
      for (const op of GUEST_LIFECYCLE[d.role ?? 'guest-kernel']) out.push({ do: op, ...at });
    }
  }
  for (const v of vms) {
    for (const d of v.config.devices ?? []) out.push({ do: 'vmm.release', vm: v.name, tdi: d.tdi });
    out.push({ do: 'vmm.destroy-vm', vm: v.name });
  }
  out.push({ do: 'host.tsm/disconnect' });
  return out.filter((s) => Object.hasOwn(OPS, s.do));
}
