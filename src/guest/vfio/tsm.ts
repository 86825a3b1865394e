/**
 * Guest VFIO as TEE attester (SYSTEM.md section 1, VFIO's second role): vfio-pci, bound to a
 * device the guest configured 'vfio-attester', locks it, collects and verifies its evidence
 * against the guest's policy, and accepts it (LOCKED -> RUN) before its userspace may open
 * it; unlock lets it go again. No public kernel has a uAPI for this yet: these are vfio-pci's
 * in-kernel calls into the devsec TSM core (guest/tsm/core.ts, caller 'vfio'), with the
 * core's own rules (locked before accept, evidence verified for this lock, DMA idle), and
 * VFIO's: each is -EBUSY while userspace holds the device open, since the TDI must not change
 * state under a userspace that maps it (the analogue of invariant 11 for VFIO's userspace).
 */

import type { AttestationPolicy } from '../attest/index.ts';
import { collectEvidence, verifyCollected } from '../attester.ts';
import type { GuestMachine } from '../machine.ts';
import { fail, finish, type GuestEvent, type GuestOutcome } from '../outcome.ts';
import type { GuestState } from '../state.ts';
import { tsmAccept, tsmLock, tsmUnlock } from '../tsm/core.ts';
import { roleRefusal } from './role.ts';

/** Why VFIO may not change the TSM state of the device now, or undefined. */
function vfioRefusal(g: GuestState, vdevId: number) {
  const dev = g.devices.get(vdevId);
  if (!dev) return fail('ENODEV', `no device ${vdevId}`);
  const role = roleRefusal(dev, 'vfio-tsm');
  if (role) return role;
  if (!dev.vfio) return fail('ENODEV', 'vfio-pci is not bound');
  if (dev.vfio.fd !== undefined) {
    return fail('EBUSY', `userspace holds the device (fd ${dev.vfio.fd})`);
  }
  return undefined;
}

const refused = (op: string, vdevId: number, r: ReturnType<typeof fail>): GuestOutcome =>
  finish(op, { vdevId }, [], r);

/** vfio-pci locks its device (CONFIG_LOCKED through the VMM's TSM bind). */
export async function vfioTsmLock(m: GuestMachine, g: GuestState, vdevId: number) {
  const no = vfioRefusal(g, vdevId);
  return no ? refused('vfio-pci/tsm-lock', vdevId, no) : tsmLock(m, g, vdevId, 'vfio');
}

/** vfio-pci collects the evidence of its locked device and verifies it against `policy`. */
export async function vfioTsmAttest(
  m: GuestMachine,
  g: GuestState,
  vdevId: number,
  policy: AttestationPolicy,
  now: Date,
): Promise<GuestOutcome> {
  const op = 'vfio-pci/tsm-attest';
  const no = vfioRefusal(g, vdevId);
  if (no) return refused(op, vdevId, no);
  const c = await collectEvidence(m, g, vdevId);
  if (!c.ok) return finish(op, { vdevId }, c.events, c);
  const v = verifyCollected(g, vdevId, policy, c.value, now);
  const events: GuestEvent[] = [...c.events, ...v.events];
  return finish(op, { vdevId }, events, v.ok ? { ok: true, value: undefined } : v);
}

/** vfio-pci accepts what it verified: LOCKED -> RUN. */
export async function vfioTsmAccept(m: GuestMachine, g: GuestState, vdevId: number) {
  const no = vfioRefusal(g, vdevId);
  return no ? refused('vfio-pci/tsm-accept', vdevId, no) : tsmAccept(m, g, vdevId, '1', 'vfio');
}

/** vfio-pci unlocks its device: CONFIG_UNLOCKED, nothing accepted left. */
export async function vfioTsmUnlock(m: GuestMachine, g: GuestState, vdevId: number) {
  const no = vfioRefusal(g, vdevId);
  return no ? refused('vfio-pci/tsm-unlock', vdevId, no) : tsmUnlock(m, g, vdevId, 'vfio');
}
