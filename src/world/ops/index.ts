/** Every operation of the world, by name. */
import { GUEST_OPS } from './guest.ts';
import { GUEST_VFIO_OPS } from './guest-vfio.ts';
import { HOST_OPS } from './host.ts';
import { HOST_ROLE_OPS } from './host-roles.ts';
import type { OpTable } from './types.ts';
import { VMM_OPS } from './vmm.ts';

export const OPS: OpTable = {
  ...HOST_OPS,
  ...HOST_ROLE_OPS,
  ...VMM_OPS,
  ...GUEST_OPS,
  ...GUEST_VFIO_OPS,
};

export type { StepResult } from './result.ts';
export type { Actor, OpTable, WorldOp } from './types.ts';
