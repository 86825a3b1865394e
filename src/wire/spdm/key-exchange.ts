/**
 * KEY_EXCHANGE (0xE4) / KEY_EXCHANGE_RSP (0x64): DMTF DSP0274 1.1-1.3, "KEY_EXCHANGE request
 * and KEY_EXCHANGE_RSP response messages". Sessions do not exist in SPDM 1.0.
 *
 * KEY_EXCHANGE: param1 MeasurementSummaryHashType, param2 SlotID; ReqSessionID u16;
 * SessionPolicy u8 (1.2+; in 1.1 bytes 6-7 are one reserved u16); reserved u8;
 * RandomData[32]; ExchangeData[D]; OpaqueDataLength u16; OpaqueData.
 * KEY_EXCHANGE_RSP: param1 HeartbeatPeriod, param2 reserved; RspSessionID u16;
 * MutAuthRequested u8; ReqSlotIDParam u8; RandomData[32]; ExchangeData[D];
 * MeasurementSummaryHash[H] (only when the request's param1 != 0); OpaqueDataLength u16;
 * OpaqueData; Signature[S]; ResponderVerifyData[H] (absent when both sides set
 * HANDSHAKE_IN_THE_CLEAR_CAP).
 * OpaqueData stays raw here; opaque.ts parses it.
 */
import type { SpdmFamilyCodec } from './codec.ts';
import {
  SPDM_KEY_EXCHANGE,
  SPDM_KEY_EXCHANGE_RSP,
  SPDM_RANDOM_SIZE,
  SPDM_VERSION_12,
} from './constants.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { readSessionHeader, readSummaryHash, writeSessionHeader } from './session-fields.ts';
import { readSized, writeSized } from './sized.ts';

export interface KeyExchange extends SpdmHeaderFields {
  code: typeof SPDM_KEY_EXCHANGE;
  /** Param1: MeasurementSummaryHashType (0 none, 1 TCB, 0xFF all). */
  measurementSummaryHashType: number;
  /** Param2: SlotID whose key signs the response (0xFF: provisioned public key). */
  slotId: number;
  reqSessionId: number;
  /** SessionPolicy (SPDM_SESSION_POLICY bits, 1.2+); always 0 in 1.1, where the byte is reserved. */
  sessionPolicy: number;
  /** The reserved byte 7 (1.2+) or reserved bytes 6-7 as a u16 (1.1), when not zero. */
  reserved?: number;
  /** RandomData[32]. */
  randomData: Uint8Array;
  /** ExchangeData[D]: the Requester's DHE public value. */
  exchangeData: Uint8Array;
  opaqueData: Uint8Array;
}

export interface KeyExchangeRsp extends SpdmHeaderFields {
  code: typeof SPDM_KEY_EXCHANGE_RSP;
  /** Param1: HeartbeatPeriod in seconds (0: no heartbeat). */
  heartbeatPeriod: number;
  /** Param2, reserved, when not zero. */
  param2Reserved?: number;
  rspSessionId: number;
  /** MutAuthRequested (SPDM_MUT_AUTH_REQUESTED bits). */
  mutAuthRequested: number;
  /** ReqSlotIDParam: bits 3:0 the Requester's slot for mutual auth; kept whole. */
  reqSlotIdParam: number;
  randomData: Uint8Array;
  exchangeData: Uint8Array;
  /** MeasurementSummaryHash[H], present iff the request's MeasurementSummaryHashType != 0. */
  measurementSummaryHash?: Uint8Array;
  opaqueData: Uint8Array;
  signature: Uint8Array;
  /** ResponderVerifyData[H], absent in a handshake in the clear. */
  verifyData?: Uint8Array;
}

export const keyExchangeCodec: SpdmFamilyCodec<KeyExchange> = {
  name: 'KEY_EXCHANGE',
  encode(w, m, ctx) {
    writeSessionHeader(w, m.version, SPDM_KEY_EXCHANGE, 'KEY_EXCHANGE');
    w.u8(m.measurementSummaryHashType, 'Param1').u8(m.slotId, 'Param2');
    w.u16(m.reqSessionId, 'ReqSessionID');
    if (m.version >= SPDM_VERSION_12) {
      w.u8(m.sessionPolicy, 'SessionPolicy').u8(m.reserved ?? 0, 'Reserved');
    } else {
      if (m.sessionPolicy !== 0) throw new RangeError('SessionPolicy does not exist in SPDM 1.1');
      w.u16(m.reserved ?? 0, 'Reserved');
    }
    w.fixed(m.randomData, SPDM_RANDOM_SIZE, 'RandomData');
    writeSized(w, m.exchangeData, ctx.sizes?.dheSize, 'ExchangeData');
    w.u16(m.opaqueData.length, 'OpaqueDataLength').bytes(m.opaqueData);
  },
  decode(r, ctx) {
    const version = readSessionHeader(r, 'KEY_EXCHANGE');
    const measurementSummaryHashType = r.u8('Param1');
    const slotId = r.u8('Param2');
    const reqSessionId = r.u16('ReqSessionID');
    let sessionPolicy = 0;
    let reserved: number | undefined;
    if (version >= SPDM_VERSION_12) {
      sessionPolicy = r.u8('SessionPolicy');
      reserved = r.reservedU8('Reserved');
    } else {
      reserved = r.reservedU16('Reserved');
    }
    const randomData = r.bytes(SPDM_RANDOM_SIZE, 'RandomData');
    const exchangeData = readSized(r, ctx, 'dheSize', 'ExchangeData');
    const opaqueData = r.bytes(r.u16('OpaqueDataLength'), 'OpaqueData');
    return {
      version,
      code: SPDM_KEY_EXCHANGE,
      measurementSummaryHashType,
      slotId,
      reqSessionId,
      sessionPolicy,
      reserved,
      randomData,
      exchangeData,
      opaqueData,
    };
  },
};

export const keyExchangeRspCodec: SpdmFamilyCodec<KeyExchangeRsp> = {
  name: 'KEY_EXCHANGE_RSP',
  encode(w, m, ctx) {
    writeSessionHeader(w, m.version, SPDM_KEY_EXCHANGE_RSP, 'KEY_EXCHANGE_RSP');
    const s = ctx.sizes;
    w.u8(m.heartbeatPeriod, 'Param1').u8(m.param2Reserved ?? 0, 'Param2');
    w.u16(m.rspSessionId, 'RspSessionID');
    w.u8(m.mutAuthRequested, 'MutAuthRequested').u8(m.reqSlotIdParam, 'ReqSlotIDParam');
    w.fixed(m.randomData, SPDM_RANDOM_SIZE, 'RandomData');
    writeSized(w, m.exchangeData, s?.dheSize, 'ExchangeData');
    if (m.measurementSummaryHash) {
      writeSized(w, m.measurementSummaryHash, s?.hashSize, 'MeasurementSummaryHash');
    }
    w.u16(m.opaqueData.length, 'OpaqueDataLength').bytes(m.opaqueData);
    writeSized(w, m.signature, s?.signatureSize, 'Signature');
    if (m.verifyData) writeSized(w, m.verifyData, s?.hashSize, 'ResponderVerifyData');
  },
  decode(r, ctx) {
    const version = readSessionHeader(r, 'KEY_EXCHANGE_RSP');
    const heartbeatPeriod = r.u8('Param1');
    const param2Reserved = r.reservedU8('Param2');
    const rspSessionId = r.u16('RspSessionID');
    const mutAuthRequested = r.u8('MutAuthRequested');
    const reqSlotIdParam = r.u8('ReqSlotIDParam');
    const randomData = r.bytes(SPDM_RANDOM_SIZE, 'RandomData');
    const exchangeData = readSized(r, ctx, 'dheSize', 'ExchangeData');
    const measurementSummaryHash = readSummaryHash(r, ctx, SPDM_KEY_EXCHANGE, 'KEY_EXCHANGE');
    const opaqueData = r.bytes(r.u16('OpaqueDataLength'), 'OpaqueData');
    const signature = readSized(r, ctx, 'signatureSize', 'Signature');
    const verifyData = ctx.handshakeInTheClear
      ? undefined
      : readSized(r, ctx, 'hashSize', 'ResponderVerifyData');
    return {
      version,
      code: SPDM_KEY_EXCHANGE_RSP,
      heartbeatPeriod,
      param2Reserved,
      rspSessionId,
      mutAuthRequested,
      reqSlotIdParam,
      randomData,
      exchangeData,
      measurementSummaryHash,
      opaqueData,
      signature,
      verifyData,
    };
  },
};

/**
 * The session id both sides use after KEY_EXCHANGE or PSK_EXCHANGE: RspSessionID in the high
 * half, ReqSessionID in the low half (DSP0274 "Session ID").
 */
export function sessionIdOf(req: { reqSessionId: number }, rsp: { rspSessionId: number }): number {
  return ((rsp.rspSessionId << 16) | req.reqSessionId) >>> 0;
}
