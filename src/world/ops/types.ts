/**
 * One operation of the world, by its real name ('host.tsm/connect', 'vmm.assign',
 * 'guest.tsm/lock'): who issues it, what it does, and the steps of it worth trying in a
 * given world (the explorer's moves: arguments drawn from the world's real values and from
 * boundary values).
 */
import type { World, WorldStep } from '../world.ts';
import type { StepResult } from './result.ts';

export type Actor = 'host' | 'vmm' | 'guest' | 'device';

export interface WorldOp {
  actor: Actor;
  run(w: World, step: WorldStep): Promise<StepResult>;
  /**
   * The steps of this operation worth trying now; default: one per VM and TDI assigned to
   * it (guest and VMM operations) or one per TDI (host and device operations).
   */
  candidates?(w: World): WorldStep[];
  /**
   * The step bypasses the host kernel (a raw firmware call): the kernel's own records may
   * then disagree with the firmware by the host's own doing, so from it on the invariants
   * about those records (a violation's component 'host/...') say nothing about the design;
   * those the firmware and the device keep still must hold.
   */
  raw?: boolean;
}

export type OpTable = Record<string, WorldOp>;
