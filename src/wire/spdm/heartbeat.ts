/**
 * HEARTBEAT (0xE8) / HEARTBEAT_ACK (0x68): DMTF DSP0274 1.1-1.3, "HEARTBEAT request and
 * HEARTBEAT_ACK response messages". Header only, both params reserved; sent inside a session
 * when KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP announced a non-zero HeartbeatPeriod.
 */
import { SPDM_HEARTBEAT, SPDM_HEARTBEAT_ACK } from './constants.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { reservedParamsCodec } from './session-fields.ts';

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

export const heartbeatCodec = reservedParamsCodec<Heartbeat>('HEARTBEAT', SPDM_HEARTBEAT);
export const heartbeatAckCodec = reservedParamsCodec<HeartbeatAck>(
  'HEARTBEAT_ACK',
  SPDM_HEARTBEAT_ACK,
);
