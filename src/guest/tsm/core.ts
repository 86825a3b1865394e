/**
 * The guest's devsec TSM (Linux's guest PCI/TSM, SYSTEM.md section 3 "Guest side"): the
 * rules each sysfs attribute under the device's tsm/ checks before its flavour acts.
 *
 * - `lock`: -ENXIO when the device is not devsec-capable (or the guest has no devsec TSM of
 *   this flavour), -EBUSY when a driver is bound or the device is already locked; then the
 *   VMM is asked to bind (the host's TSM bind locks the TDI: CONFIG_LOCKED).
 * - `accept` ("1"): "0" is -EINVAL (there is no un-accept), -EBUSY when a driver is bound,
 *   -EINVAL when not locked (or already running: the guest reads the TDI's state from its
 *   firmware first, so a TDI the host started itself is refused), -EBUSY when the device's
 *   DMA is not idle;
 *   and -EPERM when the attester has not verified evidence for this lock (invariant 12: a
 *   device is accepted only after its evidence satisfied the policy). Then LOCKED -> RUN:
 *   private MMIO, trusted DMA and START in the flavour's order.
 *
 *   The -EPERM is teeio's, not the kernel's: in Linux's devsec TSM the kernel does not
 *   verify evidence, it offers the report, certificates and measurements, and the relying
 *   party in userspace writes "1" to accept once it has verified them; accept itself fails
 *   only on state (-EINVAL, -EBUSY), as SYSTEM.md section 3 lists. teeio's guest is the
 *   kernel and its attester in one, so the attester's rule (accept only what was verified
 *   for this lock) stands at the attribute, and -EPERM (an operation the caller is not
 *   entitled to yet) is the errno it answers with. Taking the guard away is the seeded flaw
 *   guest-accept-unchecked's neighbour: a guest that accepts what it did not verify, which
 *   invariant 12 catches.
 * - `unlock`: -EBUSY when a driver is bound, -EINVAL when not locked; then the VMM is asked
 *   to unbind (the TDI back to CONFIG_UNLOCKED, its private mappings gone). When the host
 *   answers -ENXIO (unbound already, behind the guest's back) the guest's records roll back
 *   all the same, so it can lock again. Then the flavour gives up what it had verified where
 *   its firmware wants to be told (CCA: the destroyed device memory).
 * A host refusal is passed on with the host's errno.
 *
 * Each also runs as the bound driver's own in-kernel call (`by` 'vfio': guest VFIO as TEE
 * attester, guest/vfio/tsm.ts): then the device's role must be 'vfio-attester' and the
 * "driver bound" rule does not apply to the caller, which is that driver; VFIO checks instead
 * that its userspace holds nothing of the device. Through sysfs (`by` 'sysfs') the role must
 * let the kernel's devsec TSM act (guest/vfio/role.ts).
 */
import type { GuestMachine } from '../machine.ts';
import { fail, finish, type GuestEvent, type GuestOutcome, type Step } from '../outcome.ts';
import type { GuestDevice, GuestState } from '../state.ts';
import { type RoleActor, roleRefusal } from '../vfio/role.ts';
import { ccaGuestTsm } from './cca.ts';
import { type GuestTsmFlavour, hypercall, type TsmContext } from './flavour.ts';
import { sevGuestTsm } from './sev.ts';
import { tdxGuestTsm } from './tdx.ts';

const FLAVOURS: Readonly<Record<string, GuestTsmFlavour>> = {
  tdx: tdxGuestTsm,
  sev: sevGuestTsm,
  cca: ccaGuestTsm,
};

/** The device and its flavour, or why the devsec TSM cannot act on it. */
export function devsecDevice(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
): Step<{ dev: GuestDevice; flavour: GuestTsmFlavour }> {
  const dev = g.devices.get(vdevId);
  if (!dev) return fail('ENODEV', `no device ${vdevId}`);
  const flavour = Object.hasOwn(FLAVOURS, m.flavour) ? FLAVOURS[m.flavour] : undefined;
  if (!dev.devsec || !flavour) return fail('ENXIO', `device ${vdevId} is not devsec-capable`);
  return { ok: true, value: { dev, flavour } };
}

/** Who calls: the sysfs attribute, or vfio-pci bound to the device (VFIO as TEE attester). */
export type TsmCaller = 'sysfs' | 'vfio';

const OP_PREFIX: Readonly<Record<TsmCaller, string>> = { sysfs: 'tsm/', vfio: 'vfio-pci/tsm-' };
const ACTOR: Readonly<Record<TsmCaller, RoleActor>> = { sysfs: 'kernel-tsm', vfio: 'vfio-tsm' };

/** The role's and the bound driver's refusal of `by` acting on `dev`. */
function callerRefusal(dev: GuestDevice, by: TsmCaller) {
  const r = roleRefusal(dev, ACTOR[by]);
  if (r) return r;
  if (by === 'sysfs' && dev.driver) return fail('EBUSY', 'a driver is bound');
  if (by === 'vfio' && !dev.vfio) return fail('ENODEV', 'vfio-pci is not bound');
  return undefined;
}

export const contextOf = (m: GuestMachine, g: GuestState, dev: GuestDevice): TsmContext => ({
  m,
  g,
  dev,
  events: [] as GuestEvent[],
});

/** tsm/lock: the VMM binds the TDI; CONFIG_LOCKED on success. */
export async function tsmLock(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  by: TsmCaller = 'sysfs',
): Promise<GuestOutcome> {
  const op = `${OP_PREFIX[by]}lock`;
  const args = { vdevId };
  const d = devsecDevice(m, g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const { dev } = d.value;
  const busy = callerRefusal(dev, by);
  if (busy) return finish(op, args, [], busy);
  if (dev.tsm !== 'unlocked') return finish(op, args, [], fail('EBUSY', `already ${dev.tsm}`));
  const ctx = contextOf(m, g, dev);
  const r = await hypercall(ctx, { op: 'tsm-bind', vdevId });
  if (!r.ok) return finish(op, args, ctx.events, r);
  dev.tsm = 'locked';
  dev.attested = undefined;
  return finish(op, args, ctx.events, { ok: true, value: undefined });
}

/** tsm/accept: LOCKED -> RUN with what the attester verified. */
export async function tsmAccept(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  value: string,
  by: TsmCaller = 'sysfs',
): Promise<GuestOutcome> {
  const op = `${OP_PREFIX[by]}accept`;
  const args = { vdevId, value };
  const no = (r: ReturnType<typeof fail>) => finish<undefined>(op, args, [], r);
  if (value.trim() !== '1') return no(fail('EINVAL', `"${value}": there is no un-accept`));
  const d = devsecDevice(m, g, vdevId);
  if (!d.ok) return no(d);
  const { dev, flavour } = d.value;
  const busy = callerRefusal(dev, by);
  if (busy) return no(busy);
  if (dev.tsm !== 'locked') return no(fail('EINVAL', `the device is ${dev.tsm}, not locked`));
  if (dev.dmaActive) return no(fail('EBUSY', 'the device is not DMA-idle'));
  if (!dev.attested) return no(fail('EPERM', 'no verified evidence for this lock'));
  const ctx = contextOf(m, g, dev);
  // LOCKED -> RUN is the guest's to make: a TDI the host started after the verification
  // (SEV's TIO_TDI_BIND RUN_FORCE, CCA's RMI_VDEV_START are host commands) is not accepted.
  const now = await flavour.state(ctx);
  if (!now.ok) return finish(op, args, ctx.events, now);
  if (now.value !== 'CONFIG_LOCKED') {
    const why = `the TDI is ${now.value}, not CONFIG_LOCKED: not the device this guest verified`;
    return finish(op, args, ctx.events, fail('EINVAL', why));
  }
  const r = await flavour.accept(ctx, dev.attested);
  if (r.ok) dev.tsm = 'run';
  return finish(op, args, ctx.events, r);
}

/** tsm/unlock: the VMM unbinds the TDI; CONFIG_UNLOCKED, nothing accepted left. */
export async function tsmUnlock(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  by: TsmCaller = 'sysfs',
): Promise<GuestOutcome> {
  const op = `${OP_PREFIX[by]}unlock`;
  const args = { vdevId };
  const d = devsecDevice(m, g, vdevId);
  if (!d.ok) return finish(op, args, [], d);
  const { dev, flavour } = d.value;
  const busy = callerRefusal(dev, by);
  if (busy) return finish(op, args, [], busy);
  if (dev.tsm === 'unlocked') return finish(op, args, [], fail('EINVAL', 'not locked'));
  const ctx = contextOf(m, g, dev);
  const r = await hypercall(ctx, { op: 'tsm-unbind', vdevId });
  // -ENXIO: the host unbound the TDI already (a reset or release under the guest); the
  // unlock then only rolls back the guest's own records. Dropping trust is the safe way to
  // believe the host: a lie here costs the guest its device, never its data.
  if (!r.ok && r.errno !== 'ENXIO') return finish(op, args, ctx.events, r);
  const verified = dev.attested;
  dev.tsm = 'unlocked';
  dev.attested = undefined;
  dev.dmaActive = false;
  // The device is gone from the guest either way; a firmware that refuses to forget its
  // ranges shows in the events and in the next lock's accept, not as a failed unlock.
  if (verified && flavour.release) await flavour.release(ctx, verified);
  return finish(op, args, ctx.events, { ok: true, value: undefined });
}
