/**
 * Every operation of the world, by name. The guest-side operations' own events (a guest
 * kernel's tsm/lock, tsm/accept, ...) are marked with whose records they concern: the VM's
 * name for a guest, `host-process:<fn>` for a bare-metal host process (World.view() hands
 * the invariants the same names), so an observer can tell two guests' devices apart.
 */
import type { StepEvent } from '../invariants.ts';
import type { World, WorldStep } from '../world.ts';
import { DEVICE_OPS } from './device.ts';
import { GUEST_OPS } from './guest.ts';
import { GUEST_VFIO_OPS } from './guest-vfio.ts';
import { HOST_OPS } from './host.ts';
import { HOST_CONFIG_OPS } from './host-config.ts';
import { HOST_DOE_OPS } from './host-doe.ts';
import { HOST_ROLE_OPS } from './host-roles.ts';
import { HOST_UAPI_OPS } from './host-uapi.ts';
import type { StepResult } from './result.ts';
import type { OpTable } from './types.ts';
import { VMM_OPS } from './vmm.ts';

const TABLES: OpTable[] = [
  HOST_OPS,
  HOST_UAPI_OPS,
  HOST_DOE_OPS,
  HOST_ROLE_OPS,
  HOST_CONFIG_OPS,
  VMM_OPS,
  GUEST_OPS,
  GUEST_VFIO_OPS,
  DEVICE_OPS,
];

/** @throws Error at load when two tables name the same operation (one would hide the other) */
function join(tables: readonly OpTable[]): OpTable {
  const out: OpTable = {};
  for (const t of tables) {
    for (const [name, op] of Object.entries(t)) {
      if (Object.hasOwn(out, name)) throw new Error(`operation '${name}' is defined twice`);
      out[name] = op;
    }
  }
  return out;
}

/** Whose guest records a step of `name` concerns, or undefined for none. */
function owner(name: string, w: World, step: WorldStep): string | undefined {
  if (name.startsWith('guest.')) return step.vm ?? [...w.vms.keys()][0];
  if (name.startsWith('host.dpdk/')) return `host-process:${w.tdiFn(step)}`;
  return undefined;
}

function marked(table: OpTable): OpTable {
  return Object.fromEntries(
    Object.entries(table).map(([name, op]) => [
      name,
      {
        ...op,
        run: async (w: World, step: WorldStep): Promise<StepResult> => {
          const r = await op.run(w, step);
          const vm = owner(name, w, step);
          if (vm === undefined) return r;
          const events = r.events.map((e) =>
            e.kind === 'guest' && !('vm' in e) ? ({ ...e, vm } as StepEvent) : e,
          );
          return { ...r, events };
        },
      },
    ]),
  );
}

export const OPS: OpTable = marked(join(TABLES));

export type { StepResult } from './result.ts';
export type { Actor, OpTable, WorldOp } from './types.ts';
