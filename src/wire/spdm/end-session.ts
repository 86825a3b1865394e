/**
 * END_SESSION (0xEC) / END_SESSION_ACK (0x6C): DMTF DSP0274 1.1-1.3, "END_SESSION request and
 * END_SESSION_ACK response messages". Header only. END_SESSION param1 is the request
 * attributes: bit 0 Negotiated State Preservation Indicator (set: the Responder shall clear
 * the negotiated state it may have cached under CACHE_CAP), bits 7:1 reserved; param2
 * reserved. END_SESSION_ACK has both params reserved.
 */
import type { SpdmFamilyCodec } from './codec.ts';
import {
  SPDM_END_SESSION,
  SPDM_END_SESSION_ACK,
  SPDM_END_SESSION_PRESERVE_NEGOTIATED_STATE_CLEAR,
} from './constants.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { readSessionHeader, reservedParamsCodec, writeSessionHeader } from './session-fields.ts';

export interface EndSession extends SpdmHeaderFields {
  code: typeof SPDM_END_SESSION;
  /**
   * Param1 bit 0 (libspdm: PRESERVE_NEGOTIATED_STATE_CLEAR): true asks the Responder to
   * clear, not preserve, the negotiated state when the session ends.
   */
  preserveNegotiatedStateClear: boolean;
  /** Param1 bits 7:1 as they stand in the byte (bit 0 cleared), when not zero. */
  param1Reserved?: number;
  param2Reserved?: number;
}

export interface EndSessionAck extends SpdmHeaderFields {
  code: typeof SPDM_END_SESSION_ACK;
  param1Reserved?: number;
  param2Reserved?: number;
}

const CLEAR = SPDM_END_SESSION_PRESERVE_NEGOTIATED_STATE_CLEAR;

export const endSessionCodec: SpdmFamilyCodec<EndSession> = {
  name: 'END_SESSION',
  encode(w, m) {
    writeSessionHeader(w, m.version, SPDM_END_SESSION, 'END_SESSION');
    const rsv = m.param1Reserved ?? 0;
    if (rsv & CLEAR) throw new RangeError('END_SESSION: param1Reserved must not carry bit 0');
    w.u8(rsv | (m.preserveNegotiatedStateClear ? CLEAR : 0), 'Param1');
    w.u8(m.param2Reserved ?? 0, 'Param2');
  },
  decode(r) {
    const version = readSessionHeader(r, 'END_SESSION');
    const p1 = r.u8('Param1');
    const param2Reserved = r.reservedU8('Param2');
    const rsv = p1 & ~CLEAR;
    return {
      version,
      code: SPDM_END_SESSION,
      preserveNegotiatedStateClear: (p1 & CLEAR) !== 0,
      param1Reserved: rsv === 0 ? undefined : rsv,
      param2Reserved,
    };
  },
};

export const endSessionAckCodec = reservedParamsCodec<EndSessionAck>(
  'END_SESSION_ACK',
  SPDM_END_SESSION_ACK,
);
