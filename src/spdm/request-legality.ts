/**
 * Where each SPDM request may be sent (DSP0274 1.3 section 5.x "Session" phases, the
 * per-request "shall (not) be sent within a session" rules of sections 10.x, and
 * section 10.17 / Table "FINISH" on HANDSHAKE_IN_THE_CLEAR_CAP), as one table driving both
 * engines: the responder's dispatch guard answers an illegal request with the ERROR the
 * table names, the requester refuses to send one (SpdmUsageError).
 *
 * Places a request can arrive in:
 * - clear: a plain message, outside any session;
 * - dhe-handshake / psk-handshake: a secured record of a session after KEY_EXCHANGE_RSP /
 *   PSK_EXCHANGE_RSP and before FINISH_RSP / PSK_FINISH_RSP. A session's handshake phase
 *   accepts only the request that finishes it; anything else is UnexpectedRequest;
 * - application: a secured record of an established session.
 *
 * HANDSHAKE_IN_THE_CLEAR (both sides set it, DHE sessions only): FINISH then travels in the
 * clear, and a FINISH inside the session is refused with SessionRequired, as libspdm does.
 *
 * SessionRequired is a 1.2 code; before 1.2 libspdm answers such requests with
 * Unspecified, and so does teeio (`legalityErrorCode`).
 */
import * as C from '../wire/spdm/constants.ts';

export type RequestPlace = 'clear' | 'dhe-handshake' | 'psk-handshake' | 'application';

/** 'legal', or the ERROR the responder answers with. */
export type Legality = 'legal' | 'UnexpectedRequest' | 'SessionRequired';

export interface LegalityRow {
  clear: Legality;
  dheHandshake: Legality;
  pskHandshake: Legality;
  application: Legality;
  /** Overrides when HANDSHAKE_IN_THE_CLEAR is in force (FINISH only). */
  inTheClear?: { clear: Legality; dheHandshake: Legality };
}

const L = 'legal';
const UR = 'UnexpectedRequest';
const SR = 'SessionRequired';
/** Connection-level requests: never inside a session. */
const OUTSIDE: LegalityRow = { clear: L, dheHandshake: UR, pskHandshake: UR, application: UR };
/** Requests allowed in the clear and in an established session. */
const EITHER: LegalityRow = { clear: L, dheHandshake: UR, pskHandshake: UR, application: L };
/** Requests of an established session. */
const SESSION: LegalityRow = { clear: SR, dheHandshake: UR, pskHandshake: UR, application: L };

export const REQUEST_LEGALITY: Readonly<Record<number, LegalityRow>> = {
  [C.SPDM_GET_VERSION]: OUTSIDE,
  [C.SPDM_GET_CAPABILITIES]: OUTSIDE,
  [C.SPDM_NEGOTIATE_ALGORITHMS]: OUTSIDE,
  [C.SPDM_GET_DIGESTS]: EITHER,
  [C.SPDM_GET_CERTIFICATE]: EITHER,
  [C.SPDM_CHALLENGE]: OUTSIDE,
  [C.SPDM_GET_MEASUREMENTS]: EITHER,
  [C.SPDM_KEY_EXCHANGE]: OUTSIDE,
  [C.SPDM_FINISH]: {
    clear: SR,
    dheHandshake: L,
    pskHandshake: UR,
    application: UR,
    inTheClear: { clear: L, dheHandshake: SR },
  },
  [C.SPDM_PSK_EXCHANGE]: OUTSIDE,
  [C.SPDM_PSK_FINISH]: { clear: SR, dheHandshake: UR, pskHandshake: L, application: UR },
  [C.SPDM_HEARTBEAT]: SESSION,
  [C.SPDM_KEY_UPDATE]: SESSION,
  [C.SPDM_END_SESSION]: SESSION,
  [C.SPDM_VENDOR_DEFINED_REQUEST]: EITHER,
  // Follows a ResponseNotReady wherever the original request was; its handler checks that.
  [C.SPDM_RESPOND_IF_READY]: { clear: L, dheHandshake: L, pskHandshake: L, application: L },
};

/**
 * The table's verdict for request `code` in `place`; `handshakeInTheClear` when both sides
 * set HANDSHAKE_IN_THE_CLEAR_CAP (for a session: when that session's handshake is in the
 * clear). Codes outside the table are 'legal' here (dispatch refuses unknown codes).
 */
export function requestLegality(
  code: number,
  place: RequestPlace,
  handshakeInTheClear: boolean,
): Legality {
  const row = REQUEST_LEGALITY[code];
  if (!row) return L;
  const hitc = handshakeInTheClear ? row.inTheClear : undefined;
  switch (place) {
    case 'clear':
      return hitc?.clear ?? row.clear;
    case 'dhe-handshake':
      return hitc?.dheHandshake ?? row.dheHandshake;
    case 'psk-handshake':
      return row.pskHandshake;
    case 'application':
      return row.application;
  }
}

/** The place of a request sent in a session of `kind` in `phase` (or in the clear). */
export function requestPlace(
  session: { kind: 'dhe' | 'psk'; phase: 'handshake' | 'established' | 'ended' } | undefined,
): RequestPlace {
  if (!session) return 'clear';
  if (session.phase === 'handshake')
    return session.kind === 'dhe' ? 'dhe-handshake' : 'psk-handshake';
  return 'application';
}

/** The ERROR code of an illegal request at `version` (Unspecified for SessionRequired before 1.2). */
export function legalityErrorCode(l: Exclude<Legality, 'legal'>, version: number): number {
  if (l === 'UnexpectedRequest') return C.SPDM_ERROR_CODE.UnexpectedRequest;
  return version >= C.SPDM_VERSION_12
    ? C.SPDM_ERROR_CODE.SessionRequired
    : C.SPDM_ERROR_CODE.Unspecified;
}
