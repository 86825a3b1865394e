/**
 * PSK_EXCHANGE (0xE6) / PSK_EXCHANGE_RSP (0x66) and PSK_FINISH (0xE7) / PSK_FINISH_RSP (0x67):
 * DMTF DSP0274 1.1-1.3, "PSK_EXCHANGE request and PSK_EXCHANGE_RSP response messages" and
 * "PSK_FINISH request and PSK_FINISH_RSP response messages".
 *
 * PSK_EXCHANGE: param1 MeasurementSummaryHashType, param2 SessionPolicy (1.2+, reserved in
 * 1.1); ReqSessionID u16; PSKHintLength u16; RequesterContextLength u16; OpaqueDataLength u16;
 * PSKHint; RequesterContext; OpaqueData.
 * PSK_EXCHANGE_RSP: param1 HeartbeatPeriod, param2 reserved; RspSessionID u16; reserved u16;
 * ResponderContextLength u16; OpaqueDataLength u16; MeasurementSummaryHash[H] (only when the
 * request's param1 != 0); ResponderContext; OpaqueData; ResponderVerifyData[H].
 * PSK_FINISH: RequesterVerifyData[H]. PSK_FINISH_RSP: header only.
 */
import type { SpdmFamilyCodec } from './codec.ts';
import {
  SPDM_PSK_EXCHANGE,
  SPDM_PSK_EXCHANGE_RSP,
  SPDM_PSK_FINISH,
  SPDM_PSK_FINISH_RSP,
  SPDM_VERSION_12,
} from './constants.ts';
import type { SpdmHeaderFields } from './messages.ts';
import {
  readSessionHeader,
  readSummaryHash,
  reservedParamsCodec,
  writeSessionHeader,
} from './session-fields.ts';
import { needSize, readSized, writeSized } from './sized.ts';

export interface PskExchange extends SpdmHeaderFields {
  code: typeof SPDM_PSK_EXCHANGE;
  /** Param1: MeasurementSummaryHashType (0 none, 1 TCB, 0xFF all). */
  measurementSummaryHashType: number;
  /** Param2: SessionPolicy (1.2+); always 0 in 1.1, where param2 is reserved. */
  sessionPolicy: number;
  /** Param2 of a 1.1 message (reserved there), when not zero. */
  param2Reserved?: number;
  reqSessionId: number;
  pskHint: Uint8Array;
  requesterContext: Uint8Array;
  opaqueData: Uint8Array;
}

export interface PskExchangeRsp extends SpdmHeaderFields {
  code: typeof SPDM_PSK_EXCHANGE_RSP;
  /** Param1: HeartbeatPeriod in seconds. */
  heartbeatPeriod: number;
  param2Reserved?: number;
  rspSessionId: number;
  /** The reserved u16 after RspSessionID, when not zero. */
  reserved?: number;
  /** MeasurementSummaryHash[H], present iff the request's MeasurementSummaryHashType != 0. */
  measurementSummaryHash?: Uint8Array;
  responderContext: Uint8Array;
  opaqueData: Uint8Array;
  /** ResponderVerifyData[H]. */
  verifyData: Uint8Array;
}

export interface PskFinish extends SpdmHeaderFields {
  code: typeof SPDM_PSK_FINISH;
  param1Reserved?: number;
  param2Reserved?: number;
  /** RequesterVerifyData[H]. */
  verifyData: Uint8Array;
}

export interface PskFinishRsp extends SpdmHeaderFields {
  code: typeof SPDM_PSK_FINISH_RSP;
  param1Reserved?: number;
  param2Reserved?: number;
}

export const pskExchangeCodec: SpdmFamilyCodec<PskExchange> = {
  name: 'PSK_EXCHANGE',
  encode(w, m) {
    writeSessionHeader(w, m.version, SPDM_PSK_EXCHANGE, 'PSK_EXCHANGE');
    let p2: number;
    if (m.version >= SPDM_VERSION_12) {
      if (m.param2Reserved !== undefined) {
        throw new RangeError('PSK_EXCHANGE: param2 is SessionPolicy from SPDM 1.2 on');
      }
      p2 = m.sessionPolicy;
    } else {
      if (m.sessionPolicy !== 0) throw new RangeError('SessionPolicy does not exist in SPDM 1.1');
      p2 = m.param2Reserved ?? 0;
    }
    w.u8(m.measurementSummaryHashType, 'Param1').u8(p2, 'Param2');
    w.u16(m.reqSessionId, 'ReqSessionID');
    w.u16(m.pskHint.length, 'PSKHintLength');
    w.u16(m.requesterContext.length, 'RequesterContextLength');
    w.u16(m.opaqueData.length, 'OpaqueDataLength');
    w.bytes(m.pskHint).bytes(m.requesterContext).bytes(m.opaqueData);
  },
  decode(r) {
    const version = readSessionHeader(r, 'PSK_EXCHANGE');
    const measurementSummaryHashType = r.u8('Param1');
    const p2 = r.u8('Param2');
    const reqSessionId = r.u16('ReqSessionID');
    const hintLen = r.u16('PSKHintLength');
    const contextLen = r.u16('RequesterContextLength');
    const opaqueLen = r.u16('OpaqueDataLength');
    const pskHint = r.bytes(hintLen, 'PSKHint');
    const requesterContext = r.bytes(contextLen, 'RequesterContext');
    const opaqueData = r.bytes(opaqueLen, 'OpaqueData');
    const is12 = version >= SPDM_VERSION_12;
    return {
      version,
      code: SPDM_PSK_EXCHANGE,
      measurementSummaryHashType,
      sessionPolicy: is12 ? p2 : 0,
      param2Reserved: is12 || p2 === 0 ? undefined : p2,
      reqSessionId,
      pskHint,
      requesterContext,
      opaqueData,
    };
  },
};

export const pskExchangeRspCodec: SpdmFamilyCodec<PskExchangeRsp> = {
  name: 'PSK_EXCHANGE_RSP',
  encode(w, m, ctx) {
    writeSessionHeader(w, m.version, SPDM_PSK_EXCHANGE_RSP, 'PSK_EXCHANGE_RSP');
    const h = ctx.sizes?.hashSize;
    w.u8(m.heartbeatPeriod, 'Param1').u8(m.param2Reserved ?? 0, 'Param2');
    w.u16(m.rspSessionId, 'RspSessionID').u16(m.reserved ?? 0, 'Reserved');
    w.u16(m.responderContext.length, 'ResponderContextLength');
    w.u16(m.opaqueData.length, 'OpaqueDataLength');
    if (m.measurementSummaryHash)
      writeSized(w, m.measurementSummaryHash, h, 'MeasurementSummaryHash');
    w.bytes(m.responderContext).bytes(m.opaqueData);
    writeSized(w, m.verifyData, h, 'ResponderVerifyData');
  },
  decode(r, ctx) {
    const version = readSessionHeader(r, 'PSK_EXCHANGE_RSP');
    const heartbeatPeriod = r.u8('Param1');
    const param2Reserved = r.reservedU8('Param2');
    const rspSessionId = r.u16('RspSessionID');
    const reserved = r.reservedU16('Reserved');
    const contextLen = r.u16('ResponderContextLength');
    const opaqueLen = r.u16('OpaqueDataLength');
    // H is needed for ResponderVerifyData whatever the request asked; check it first.
    const h = needSize(r, ctx, 'hashSize', 'MeasurementSummaryHash');
    const measurementSummaryHash = readSummaryHash(r, ctx, SPDM_PSK_EXCHANGE, 'PSK_EXCHANGE');
    const responderContext = r.bytes(contextLen, 'ResponderContext');
    const opaqueData = r.bytes(opaqueLen, 'OpaqueData');
    const verifyData = r.bytes(h, 'ResponderVerifyData');
    return {
      version,
      code: SPDM_PSK_EXCHANGE_RSP,
      heartbeatPeriod,
      param2Reserved,
      rspSessionId,
      reserved,
      measurementSummaryHash,
      responderContext,
      opaqueData,
      verifyData,
    };
  },
};

export const pskFinishCodec: SpdmFamilyCodec<PskFinish> = {
  name: 'PSK_FINISH',
  encode(w, m, ctx) {
    writeSessionHeader(w, m.version, SPDM_PSK_FINISH, 'PSK_FINISH');
    w.u8(m.param1Reserved ?? 0, 'Param1').u8(m.param2Reserved ?? 0, 'Param2');
    writeSized(w, m.verifyData, ctx.sizes?.hashSize, 'RequesterVerifyData');
  },
  decode(r, ctx) {
    const version = readSessionHeader(r, 'PSK_FINISH');
    const param1Reserved = r.reservedU8('Param1');
    const param2Reserved = r.reservedU8('Param2');
    const verifyData = readSized(r, ctx, 'hashSize', 'RequesterVerifyData');
    return { version, code: SPDM_PSK_FINISH, param1Reserved, param2Reserved, verifyData };
  },
};

export const pskFinishRspCodec = reservedParamsCodec<PskFinishRsp>(
  'PSK_FINISH_RSP',
  SPDM_PSK_FINISH_RSP,
);
