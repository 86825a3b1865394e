/**
 * The vfio-user role's honest lifecycle (docs/roles.md) as operation names, for tests that
 * drive a world up to a point of it: the host connects, the VMM creates the VM and assigns
 * the device, then the guest's steps of GUEST_LIFECYCLE['vfio-user'].
 */
import { GUEST_LIFECYCLE } from '../../src/world/ops/guest-vfio.ts';

const GUEST = GUEST_LIFECYCLE['vfio-user'];

/** The lifecycle's operations up to and including the guest's `op`. */
export function vfioUserThrough(op: string): string[] {
  const i = GUEST.indexOf(op);
  if (i < 0) throw new Error(`${op} is not a step of the vfio-user lifecycle`);
  return ['host.tsm/connect', 'vmm.create-vm', 'vmm.assign', ...GUEST.slice(0, i + 1)];
}

/** The guest's operations after `from`, up to and including `to`. */
export function vfioUserBetween(from: string, to: string): string[] {
  return GUEST.slice(GUEST.indexOf(from) + 1, GUEST.indexOf(to) + 1);
}
