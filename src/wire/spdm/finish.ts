/**
 * FINISH (0xE5) / FINISH_RSP (0x65): DMTF DSP0274 1.1-1.3, "FINISH request and FINISH_RSP
 * response messages".
 *
 * FINISH: param1 request attributes (bit 0: Signature present), param2 ReqSlotID;
 * Signature[S of the Requester's asymmetric algorithm] when bit 0 is set; RequesterVerifyData[H].
 * FINISH_RSP: param1/param2 reserved; ResponderVerifyData[H] only when both sides set
 * HANDSHAKE_IN_THE_CLEAR_CAP (otherwise FINISH_RSP travels encrypted and carries none).
 */
import type { SpdmFamilyCodec } from './codec.ts';
import { SPDM_FINISH, SPDM_FINISH_RSP, SPDM_FINISH_SIGNATURE_INCLUDED } from './constants.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { readSessionHeader, writeSessionHeader } from './session-fields.ts';
import { needSize, readSized, writeSized } from './sized.ts';

export interface Finish extends SpdmHeaderFields {
  code: typeof SPDM_FINISH;
  /** Param1 bit 0: a mutual-authentication Signature is present. */
  signatureIncluded: boolean;
  /** Param1 bits 7:1 as they stand in the byte (bit 0 cleared), when not zero. */
  param1Reserved?: number;
  /** Param2: ReqSlotID, the Requester's certificate slot for the signature. */
  reqSlotId: number;
  /** Signature[S], present iff signatureIncluded. */
  signature?: Uint8Array;
  /** RequesterVerifyData[H]. */
  verifyData: Uint8Array;
}

export interface FinishRsp extends SpdmHeaderFields {
  code: typeof SPDM_FINISH_RSP;
  param1Reserved?: number;
  param2Reserved?: number;
  /** ResponderVerifyData[H], present only in a handshake in the clear. */
  verifyData?: Uint8Array;
}

export const finishCodec: SpdmFamilyCodec<Finish> = {
  name: 'FINISH',
  encode(w, m, ctx) {
    writeSessionHeader(w, m.version, SPDM_FINISH, 'FINISH');
    if (m.signatureIncluded !== (m.signature !== undefined)) {
      throw new RangeError('FINISH: signature must be present iff signatureIncluded');
    }
    const rsv = m.param1Reserved ?? 0;
    if (rsv & SPDM_FINISH_SIGNATURE_INCLUDED) {
      throw new RangeError('FINISH: param1Reserved must not carry bit 0');
    }
    w.u8(rsv | (m.signatureIncluded ? SPDM_FINISH_SIGNATURE_INCLUDED : 0), 'Param1');
    w.u8(m.reqSlotId, 'Param2');
    const s = ctx.sizes;
    if (m.signature)
      writeSized(w, m.signature, s && (s.reqSignatureSize ?? s.signatureSize), 'Signature');
    writeSized(w, m.verifyData, s?.hashSize, 'RequesterVerifyData');
  },
  decode(r, ctx) {
    const version = readSessionHeader(r, 'FINISH');
    const p1 = r.u8('Param1');
    const reqSlotId = r.u8('Param2');
    const signatureIncluded = (p1 & SPDM_FINISH_SIGNATURE_INCLUDED) !== 0;
    const rsv = p1 & ~SPDM_FINISH_SIGNATURE_INCLUDED;
    // The Requester signs with ReqBaseAsymAlg when ALGORITHMS selected one, else BaseAsymSel.
    const signature = signatureIncluded
      ? r.bytes(
          ctx.sizes?.reqSignatureSize ?? needSize(r, ctx, 'signatureSize', 'Signature'),
          'Signature',
        )
      : undefined;
    const verifyData = readSized(r, ctx, 'hashSize', 'RequesterVerifyData');
    return {
      version,
      code: SPDM_FINISH,
      signatureIncluded,
      param1Reserved: rsv === 0 ? undefined : rsv,
      reqSlotId,
      signature,
      verifyData,
    };
  },
};

export const finishRspCodec: SpdmFamilyCodec<FinishRsp> = {
  name: 'FINISH_RSP',
  encode(w, m, ctx) {
    writeSessionHeader(w, m.version, SPDM_FINISH_RSP, 'FINISH_RSP');
    w.u8(m.param1Reserved ?? 0, 'Param1').u8(m.param2Reserved ?? 0, 'Param2');
    if (m.verifyData) writeSized(w, m.verifyData, ctx.sizes?.hashSize, 'ResponderVerifyData');
  },
  decode(r, ctx) {
    const version = readSessionHeader(r, 'FINISH_RSP');
    const param1Reserved = r.reservedU8('Param1');
    const param2Reserved = r.reservedU8('Param2');
    const verifyData = ctx.handshakeInTheClear
      ? readSized(r, ctx, 'hashSize', 'ResponderVerifyData')
      : undefined;
    return { version, code: SPDM_FINISH_RSP, param1Reserved, param2Reserved, verifyData };
  },
};
