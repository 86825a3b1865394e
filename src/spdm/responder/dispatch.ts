/**
 * The dispatch table: request code -> handler, with the guards libspdm's handlers apply
 * before they look at the request's body, in libspdm's order: the capability (ours, and
 * the requester's where both must have it) -> UnsupportedRequest; the connection state ->
 * UnexpectedRequest; then where the request arrived (in the clear, in a session's
 * handshake or application phase) against request-legality.ts: UnexpectedRequest, or
 * SessionRequired (Unspecified before SPDM 1.2).
 */
import * as C from '../../wire/spdm/constants.ts';
import { legalityErrorCode, requestLegality, requestPlace } from '../request-legality.ts';
import type {
  HandlerRequest,
  HandlerResult,
  ResponderContext,
  ResponderSession,
} from './context.ts';
import { pskFinishInKeyExchange } from './flaws.ts';
import { handleChallenge } from './handlers/challenge.ts';
import { handleEndSession } from './handlers/end-session.ts';
import { handleFinish } from './handlers/finish.ts';
import { handleGetCapabilities } from './handlers/get-capabilities.ts';
import { handleGetCertificate } from './handlers/get-certificate.ts';
import { handleGetDigests } from './handlers/get-digests.ts';
import { handleGetMeasurements } from './handlers/get-measurements.ts';
import { handleGetVersion } from './handlers/get-version.ts';
import { handleHeartbeat } from './handlers/heartbeat.ts';
import { handleKeyExchange } from './handlers/key-exchange.ts';
import { handleKeyUpdate } from './handlers/key-update.ts';
import { handleNegotiateAlgorithms } from './handlers/negotiate-algorithms.ts';
import { handlePskExchange } from './handlers/psk-exchange.ts';
import { handlePskFinish } from './handlers/psk-finish.ts';
import { handleRespondIfReady } from './handlers/respond-if-ready.ts';
import { handleVendorDefined } from './handlers/vendor-defined.ts';
import type { ConnectionStateName } from './state.ts';

// biome-ignore lint/suspicious/noExplicitAny: each handler takes its own message type.
type Handler = (ctx: ResponderContext, req: HandlerRequest<any>) => HandlerResult;

export interface DispatchEntry {
  handler: Handler;
  /**
   * Capability guard: `ours` must have some bit of the mask; with `both`, the requester
   * too (PSK compares our PSK_CAP bits against its PSK_CAP bit).
   */
  cap?: { ours: number; peer?: number };
  /** Needs ALGORITHMS first (NEGOTIATED or AUTHENTICATED). */
  negotiated: boolean;
  /** VCA requests: the one state they are expected in (checked before the body is decoded). */
  expects?: ConnectionStateName;
}

const MEAS = C.SPDM_CAP.MEAS_CAP_NO_SIG | C.SPDM_CAP.MEAS_CAP_SIG;
const PSK_RSP = C.SPDM_CAP.PSK_CAP_RESPONDER | C.SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT;
const PSK_REQ = C.SPDM_CAP.PSK_CAP_RESPONDER; // a requester's PSK_CAP is bit 10
const both = (bit: number) => ({ ours: bit, peer: bit });
const SESSION = { ours: C.SPDM_CAP.KEY_EX_CAP | PSK_RSP };

export const DISPATCH: Readonly<Record<number, DispatchEntry>> = {
  [C.SPDM_GET_VERSION]: { handler: handleGetVersion, negotiated: false },
  [C.SPDM_GET_CAPABILITIES]: {
    handler: handleGetCapabilities,
    negotiated: false,
    expects: 'AFTER_VERSION',
  },
  [C.SPDM_NEGOTIATE_ALGORITHMS]: {
    handler: handleNegotiateAlgorithms,
    negotiated: false,
    expects: 'AFTER_CAPABILITIES',
  },
  [C.SPDM_GET_DIGESTS]: {
    handler: handleGetDigests,
    cap: { ours: C.SPDM_CAP.CERT_CAP },
    negotiated: true,
  },
  [C.SPDM_GET_CERTIFICATE]: {
    handler: handleGetCertificate,
    cap: { ours: C.SPDM_CAP.CERT_CAP },
    negotiated: true,
  },
  [C.SPDM_CHALLENGE]: {
    handler: handleChallenge,
    cap: { ours: C.SPDM_CAP.CHAL_CAP },
    negotiated: true,
  },
  [C.SPDM_GET_MEASUREMENTS]: {
    handler: handleGetMeasurements,
    cap: { ours: MEAS },
    negotiated: true,
  },
  [C.SPDM_KEY_EXCHANGE]: {
    handler: handleKeyExchange,
    cap: both(C.SPDM_CAP.KEY_EX_CAP),
    negotiated: true,
  },
  [C.SPDM_FINISH]: {
    handler: handleFinish,
    cap: both(C.SPDM_CAP.KEY_EX_CAP),
    negotiated: true,
  },
  [C.SPDM_PSK_EXCHANGE]: {
    handler: handlePskExchange,
    cap: { ours: PSK_RSP, peer: PSK_REQ },
    negotiated: true,
  },
  [C.SPDM_PSK_FINISH]: {
    handler: handlePskFinish,
    cap: { ours: PSK_RSP, peer: PSK_REQ },
    negotiated: true,
  },
  [C.SPDM_HEARTBEAT]: {
    handler: handleHeartbeat,
    cap: both(C.SPDM_CAP.HBEAT_CAP),
    negotiated: true,
  },
  [C.SPDM_KEY_UPDATE]: {
    handler: handleKeyUpdate,
    cap: both(C.SPDM_CAP.KEY_UPD_CAP),
    negotiated: true,
  },
  [C.SPDM_END_SESSION]: {
    handler: handleEndSession,
    cap: SESSION,
    negotiated: true,
  },
  [C.SPDM_VENDOR_DEFINED_REQUEST]: {
    handler: handleVendorDefined,
    negotiated: true,
  },
  [C.SPDM_RESPOND_IF_READY]: {
    handler: handleRespondIfReady,
    negotiated: false,
  },
};

/**
 * The guard verdict for request `code` arriving in `rs` (undefined: in the clear): an
 * ERROR code to answer, or undefined to go on.
 */
export function guard(
  ctx: ResponderContext,
  e: DispatchEntry,
  code: number,
  rs: ResponderSession | undefined,
): { errorCode: number; errorData?: number } | undefined {
  const s = ctx.state.state;
  if (e.expects && s !== e.expects) return { errorCode: C.SPDM_ERROR_CODE.UnexpectedRequest };
  // The seeded flaw of world/flaws.ts: PSK_FINISH let through in a KEY_EXCHANGE session's
  // handshake, as libspdm did before CVE-2023-31127 (its handler never asked the kind).
  if (code === C.SPDM_PSK_FINISH && pskFinishInKeyExchange(ctx, rs)) return undefined;
  if (e.negotiated && (s === 'NOT_STARTED' || s === 'AFTER_VERSION')) {
    return { errorCode: C.SPDM_ERROR_CODE.UnexpectedRequest };
  }
  if (e.cap) {
    const peer = 'peer' in ctx.state ? ctx.state.peer.flags : 0;
    const ok =
      (ctx.config.capabilities & e.cap.ours) !== 0 &&
      (e.cap.peer === undefined || (peer & e.cap.peer) !== 0);
    if (!ok) return { errorCode: C.SPDM_ERROR_CODE.UnsupportedRequest };
  }
  if (e.negotiated && s === 'AFTER_CAPABILITIES') {
    return { errorCode: C.SPDM_ERROR_CODE.UnexpectedRequest };
  }
  const inTheClear = rs
    ? rs.handshakeInTheClear
    : ctx.bothSupport(C.SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP);
  const legality = requestLegality(code, requestPlace(rs?.session), inTheClear);
  if (legality !== 'legal') return { errorCode: legalityErrorCode(legality, ctx.version) };
  return undefined;
}
