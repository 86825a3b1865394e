/**
 * What each of VFIO's roles lets whom do to an assigned device inside the guest (SYSTEM.md
 * section 1): the guest's configuration of a device (GuestDeviceConfig.role) decides which
 * driver may take it, and who may lock, attest and accept it.
 *
 * | who | guest-kernel | vfio-attester | vfio-user |
 * |---|---|---|---|
 * | devsec TSM through sysfs (tsm/lock, attest, tsm/accept, tsm/unlock) | yes | -EPERM | yes |
 * | guest VFIO's own lock, attest, accept, unlock | -EPERM | yes | -EPERM |
 * | a kernel driver (the NIC driver) binds | yes | -ENODEV | -ENODEV |
 * | vfio-pci binds | -ENODEV | yes | yes |
 *
 * The driver refusals are Linux's own: a device given to VFIO has driver_override set to
 * vfio-pci, so no other driver matches it and a bind is -ENODEV; vfio-pci has no id table and
 * matches only a device whose driver_override names it. The TSM refusals are the guest's
 * policy for the role (-EPERM: the caller is not the one the role trusts to attest).
 */
import { fail, type Step } from '../outcome.ts';
import type { GuestDevice, GuestRole } from '../state.ts';

export type RoleActor = 'kernel-tsm' | 'vfio-tsm' | 'kernel-driver' | 'vfio-pci';

export const roleOf = (dev: GuestDevice): GuestRole => dev.role ?? 'guest-kernel';

const ALLOWED: Readonly<Record<RoleActor, readonly GuestRole[]>> = {
  'kernel-tsm': ['guest-kernel', 'vfio-user'],
  'vfio-tsm': ['vfio-attester'],
  'kernel-driver': ['guest-kernel'],
  'vfio-pci': ['vfio-attester', 'vfio-user'],
};

const WHY: Readonly<Record<RoleActor, string>> = {
  'kernel-tsm': 'guest VFIO attests and accepts this device, not the sysfs devsec TSM',
  'vfio-tsm': 'the guest kernel attests and accepts this device; guest VFIO only passes it on',
  'kernel-driver': 'driver_override is vfio-pci: no other driver matches',
  'vfio-pci': 'driver_override is not vfio-pci: vfio-pci matches only by driver_override',
};

/** undefined when the device's role lets `who` act; the refusal otherwise. */
export function roleRefusal(dev: GuestDevice, who: RoleActor): ReturnType<typeof fail> | undefined {
  const role = roleOf(dev);
  if (ALLOWED[who].includes(role)) return undefined;
  const errno = who === 'kernel-driver' || who === 'vfio-pci' ? 'ENODEV' : 'EPERM';
  return fail(errno, `role ${role}: ${WHY[who]}`);
}

/** As roleRefusal, as a Step. */
export function roleAllows(dev: GuestDevice, who: RoleActor): Step {
  return roleRefusal(dev, who) ?? { ok: true, value: undefined };
}
