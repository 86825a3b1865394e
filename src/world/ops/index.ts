/** Every operation of the world, by name. */
import { DEVICE_OPS } from './device.ts';
import { GUEST_OPS } from './guest.ts';
import { GUEST_VFIO_OPS } from './guest-vfio.ts';
import { HOST_OPS } from './host.ts';
import { HOST_CONFIG_OPS } from './host-config.ts';
import { HOST_DOE_OPS } from './host-doe.ts';
import { HOST_ROLE_OPS } from './host-roles.ts';
import { HOST_UAPI_OPS } from './host-uapi.ts';
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

export const OPS: OpTable = join(TABLES);

export type { StepResult } from './result.ts';
export type { Actor, OpTable, WorldOp } from './types.ts';
