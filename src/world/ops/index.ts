/** Every operation of the world, by name. */
import { GUEST_OPS } from './guest.ts';
import { HOST_OPS } from './host.ts';
import { HOST_DOE_OPS } from './host-doe.ts';
import type { OpTable } from './types.ts';
import { VMM_OPS } from './vmm.ts';

export const OPS: OpTable = { ...HOST_OPS, ...HOST_DOE_OPS, ...VMM_OPS, ...GUEST_OPS };

export type { StepResult } from './result.ts';
export type { Actor, OpTable, WorldOp } from './types.ts';
