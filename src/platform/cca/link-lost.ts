/**
 * A secure channel that is gone. The SPDM requester drops a session whose record may or may
 * not have reached the device (a carrier that lost a message, a record that does not open):
 * its sequence numbers can no longer be trusted. The core's record of the device still says
 * 'connected' and any further call through it would fail, so the RMM treats the loss as the
 * fatal device error it is (RMM specification 1.1, A9.2.3: the PDEV moves to PDEV_ERROR) and
 * forgets the link. A rule every flavour needs, kept here until the core has it.
 */

import type { Platform } from '../platform.ts';
import { dropLink, linkHasSession, type TsmEnv } from '../tsm/link.ts';

/** True when the device's record says connected but its requester no longer has the session. */
export function sessionLost(p: Platform, _env: TsmEnv, rid: number): boolean {
  const d = p.tsm.devices.get(rid);
  if (d?.phase !== 'connected' || !d.link) return false;
  const id = d.link.sessionId;
  return !linkHasSession(p, rid, id);
}

/** Records the device as disconnected (no session, no keys) and forgets its requester. */
export function forgetLostLink(p: Platform, _env: TsmEnv, rid: number): void {
  p.tsm.devices.set(rid, { rid, phase: 'disconnected' });
  dropLink(p, rid);
}
