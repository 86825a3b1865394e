/** Every operation of the world, by name. */
import { DEVICE_OPS } from './device.ts';
import { GUEST_OPS } from './guest.ts';
import { HOST_OPS } from './host.ts';
import { HOST_CONFIG_OPS } from './host-config.ts';
import type { OpTable } from './types.ts';
import { VMM_OPS } from './vmm.ts';

export const OPS: OpTable = {
  ...HOST_OPS,
  ...HOST_CONFIG_OPS,
  ...VMM_OPS,
  ...GUEST_OPS,
  ...DEVICE_OPS,
};

export type { StepResult } from './result.ts';
export type { Actor, OpTable, WorldOp } from './types.ts';
