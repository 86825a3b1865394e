/**
 * The responder's seeded flaws (world/flaws.ts, component 'spdm'): each a switch in its
 * configuration that breaks one check the way a real patch did, so the world's invariants
 * can show they catch it. Off unless a world or a test turns it on.
 */
import type { ResponderContext, ResponderSession } from './context.ts';

/**
 * 'responder-psk-finish-in-key-exchange' is on and `rs` is a KEY_EXCHANGE session in its
 * handshake phase: PSK_FINISH is let through the dispatch guards and completes it, as
 * libspdm's PSK_FINISH handler did before CVE-2023-31127 (it never asked the session's kind).
 */
export function pskFinishInKeyExchange(
  ctx: ResponderContext,
  rs: ResponderSession | undefined,
): boolean {
  return (
    ctx.config.flaws?.includes('responder-psk-finish-in-key-exchange') === true &&
    rs?.session.kind === 'dhe' &&
    rs.session.phase === 'handshake'
  );
}
