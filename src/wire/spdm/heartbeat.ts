/**
 * HEARTBEAT (0xE8) / HEARTBEAT_ACK (0x68): DMTF DSP0274 1.1-1.3, "HEARTBEAT request and
 * HEARTBEAT_ACK response messages". Header only, both params reserved; sent inside a session
 * when KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP announced a non-zero HeartbeatPeriod.
 */
import type { SpdmFamilyCodec } from './codec.ts';
import { SPDM_HEARTBEAT, SPDM_HEARTBEAT_ACK } from './constants.ts';
import { checkEncodeVersion, readSessionVersion } from './key-exchange.ts';
import type { SpdmHeaderFields } from './messages.ts';

export interface Heartbeat extends SpdmHeaderFields {
  code: typeof SPDM_HEARTBEAT;
  param1Reserved?: number;
  param2Reserved?: number;
}

export interface HeartbeatAck extends SpdmHeaderFields {
  code: typeof SPDM_HEARTBEAT_ACK;
  param1Reserved?: number;
  param2Reserved?: number;
}

function headerOnly<M extends Heartbeat | HeartbeatAck>(
  name: string,
  code: M['code'],
): SpdmFamilyCodec<M> {
  return {
    name,
    encode(w, m) {
      checkEncodeVersion(m.version, name);
      w.u8(m.version, 'SPDMVersion').u8(code);
      w.u8(m.param1Reserved ?? 0, 'Param1').u8(m.param2Reserved ?? 0, 'Param2');
    },
    decode(r) {
      const version = readSessionVersion(r, name);
      r.u8('RequestResponseCode');
      const param1Reserved = r.reservedU8('Param1');
      const param2Reserved = r.reservedU8('Param2');
      return { version, code, param1Reserved, param2Reserved } as M;
    },
  };
}

export const heartbeatCodec = headerOnly<Heartbeat>('HEARTBEAT', SPDM_HEARTBEAT);
export const heartbeatAckCodec = headerOnly<HeartbeatAck>('HEARTBEAT_ACK', SPDM_HEARTBEAT_ACK);
