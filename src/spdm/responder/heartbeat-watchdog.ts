/**
 * What HeartbeatPeriod means to the responder (DSP0274 1.3 section 10.20 "HEARTBEAT":
 * "If the Responder does not receive any message within the session for twice the
 * HeartbeatPeriod, it shall terminate the session"; libspdm starts a watchdog of
 * heartbeat_period * 2 when a session is established and resets it on every message in the
 * session). It applies when both sides set HBEAT_CAP and the period is not 0.
 *
 * Time is the configuration's `now()` (ms), so tests move the clock instead of waiting.
 * Idle sessions are ended lazily, when the next message reaches the responder, and by
 * `expireIdleSessions` for a caller that runs a timer.
 */
import { SPDM_CAP } from '../../wire/spdm/constants.ts';
import type { ResponderContext, ResponderSession } from './context.ts';

/** The HeartbeatPeriod a new session is told (Param1 of KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP). */
export function sessionHeartbeatPeriod(ctx: ResponderContext): number {
  return ctx.bothSupport(SPDM_CAP.HBEAT_CAP) ? ctx.config.heartbeatPeriod : 0;
}

/** A message arrived in `rs`: its idle time starts over. */
export function noteSessionActivity(ctx: ResponderContext, rs: ResponderSession): void {
  rs.lastMessageAt = ctx.config.now();
}

/**
 * Ends every established session that has seen no message for twice its heartbeat period.
 * @returns the ids of the sessions ended.
 */
export function expireIdleSessions(ctx: ResponderContext): number[] {
  const ended: number[] = [];
  const now = ctx.config.now();
  for (const [id, rs] of ctx.sessions) {
    const period = rs.heartbeatPeriod ?? 0;
    if (period === 0 || rs.lastMessageAt === undefined || rs.session.phase !== 'established') {
      continue;
    }
    if (now - rs.lastMessageAt >= 2 * period * 1000) ended.push(id);
  }
  for (const id of ended) ctx.endSession(id, 'heartbeat-timeout');
  return ended;
}
