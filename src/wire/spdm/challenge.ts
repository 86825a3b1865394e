/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.8 "CHALLENGE request and CHALLENGE_AUTH response".
 *
 * CHALLENGE: Param1 SlotID (0xFF = provisioned public key), Param2 measurement summary
 * hash type (0 none, 1 TCB, 0xFF all), Nonce[32], + RequesterContext[8] from 1.3.
 * CHALLENGE_AUTH: Param1 bits 3:0 SlotID (bit 7 BasicMutAuthReq in 1.1, deprecated in 1.2;
 * bits 7:4 kept in `reserved1`), Param2 slot mask, CertChainHash[H], Nonce[32],
 * MeasurementSummaryHash[H] (only when the CHALLENGE's Param2 is not 0), u16 OpaqueLength,
 * OpaqueData, RequesterContext[8] (1.3), Signature[S]. H and S come from ctx.sizes, the
 * summary hash presence from ctx.request (libspdm spdm_challenge_auth_response_t).
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import {
  SPDM_CHALLENGE,
  SPDM_CHALLENGE_AUTH,
  SPDM_MAX_OPAQUE_DATA_SIZE,
  SPDM_NONCE_SIZE,
  SPDM_REQ_CONTEXT_SIZE,
  SPDM_VERSION_13,
} from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { needSize, writeSized } from './sized.ts';
import {
  assertLayoutVersion,
  checkLayoutVersion,
  readHeader,
  reservedValue,
  writeHeader,
} from './version.ts';

const SLOT_MASK = 0x0f;

/** CHALLENGE. */
export interface Challenge extends SpdmHeaderFields {
  code: typeof SPDM_CHALLENGE;
  /** Param1: SlotID 0..7, or 0xFF for a provisioned public key. */
  slotId: number;
  /** Param2: 0 none, 1 TCB component, 0xFF all measurements; other values kept. */
  measurementSummaryHashType: number;
  nonce: Uint8Array;
  /** 1.3+: RequesterContext[8]. */
  requesterContext?: Uint8Array;
}

/** CHALLENGE_AUTH. */
export interface ChallengeAuth extends SpdmHeaderFields {
  code: typeof SPDM_CHALLENGE_AUTH;
  /** Param1 bits 3:0. */
  slotId: number;
  /** Param1 bits 7:4 in place (bit 7 = BasicMutAuthReq in 1.1); undefined when zero. */
  reserved1?: number;
  /** Param2: slot mask. */
  slotMask: number;
  certChainHash: Uint8Array;
  nonce: Uint8Array;
  /** Present iff the CHALLENGE asked for a summary hash (its Param2 is not 0). */
  measurementSummaryHash?: Uint8Array;
  opaqueData: Uint8Array;
  /** 1.3+: the RequesterContext echoed from the CHALLENGE. */
  requesterContext?: Uint8Array;
  signature: Uint8Array;
}

/** @throws RangeError unless `ctx` is present exactly from 1.3 and is 8 bytes. */
export function writeRequesterContext(
  w: Writer,
  version: number,
  ctx: Uint8Array | undefined,
  name: string,
): void {
  if (version >= SPDM_VERSION_13) {
    if (!ctx) throw new RangeError(`${name}: requesterContext is required from SPDM 1.3`);
    w.fixed(ctx, SPDM_REQ_CONTEXT_SIZE, 'RequesterContext');
  } else if (ctx) {
    throw new RangeError(`${name}: requesterContext exists from SPDM 1.3`);
  }
}

/** RequesterContext[8] from 1.3, undefined before. */
export function readRequesterContext(r: Reader, version: number): Uint8Array | undefined {
  return version >= SPDM_VERSION_13
    ? r.bytes(SPDM_REQ_CONTEXT_SIZE, 'RequesterContext')
    : undefined;
}

/** u16 OpaqueLength + OpaqueData. @throws WireError too-large past 1024 bytes. */
export function readOpaque(r: Reader): Uint8Array {
  const at = r.offset;
  const n = r.u16('OpaqueLength');
  if (n > SPDM_MAX_OPAQUE_DATA_SIZE) {
    throw r.error('OpaqueLength', 'too-large', `${n} > ${SPDM_MAX_OPAQUE_DATA_SIZE}`, at);
  }
  return r.bytes(n, 'OpaqueData');
}

/** u16 OpaqueLength + OpaqueData. @throws RangeError past 1024 bytes. */
export function writeOpaque(w: Writer, data: Uint8Array): void {
  if (data.length > SPDM_MAX_OPAQUE_DATA_SIZE) {
    throw new RangeError(`OpaqueData: ${data.length} > ${SPDM_MAX_OPAQUE_DATA_SIZE} bytes`);
  }
  w.u16(data.length, 'OpaqueLength').bytes(data);
}

export const challengeCodec: SpdmFamilyCodec<Challenge> = {
  name: 'CHALLENGE',
  encode(w: Writer, m: Challenge): void {
    assertLayoutVersion(m.version, m.code);
    writeHeader(w, m.version, m.code, m.slotId, m.measurementSummaryHashType);
    w.fixed(m.nonce, SPDM_NONCE_SIZE, 'Nonce');
    writeRequesterContext(w, m.version, m.requesterContext, 'CHALLENGE');
  },
  decode(r: Reader, _ctx: SpdmCodecContext): Challenge {
    const h = readHeader(r, SPDM_CHALLENGE);
    checkLayoutVersion(r, h.version);
    const nonce = r.bytes(SPDM_NONCE_SIZE, 'Nonce');
    const requesterContext = readRequesterContext(r, h.version);
    return {
      version: h.version,
      code: SPDM_CHALLENGE,
      slotId: h.param1,
      measurementSummaryHashType: h.param2,
      nonce,
      requesterContext,
    };
  },
};

export const challengeAuthCodec: SpdmFamilyCodec<ChallengeAuth> = {
  name: 'CHALLENGE_AUTH',
  encode(w: Writer, m: ChallengeAuth, ctx: SpdmCodecContext): void {
    assertLayoutVersion(m.version, m.code);
    const hi = m.reserved1 ?? 0;
    if (m.slotId < 0 || m.slotId > SLOT_MASK || (hi & SLOT_MASK) !== 0) {
      throw new RangeError('CHALLENGE_AUTH: slotId is bits 3:0, reserved1 bits 7:4 of Param1');
    }
    const req = ctx.request;
    if (
      req?.code === SPDM_CHALLENGE &&
      (req.measurementSummaryHashType !== 0) !== (m.measurementSummaryHash !== undefined)
    ) {
      throw new RangeError('CHALLENGE_AUTH: measurementSummaryHash must follow the request');
    }
    const h = ctx.sizes?.hashSize;
    writeHeader(w, m.version, m.code, hi | m.slotId, m.slotMask);
    writeSized(w, m.certChainHash, h, 'CertChainHash');
    w.fixed(m.nonce, SPDM_NONCE_SIZE, 'Nonce');
    if (m.measurementSummaryHash) {
      writeSized(w, m.measurementSummaryHash, h, 'MeasurementSummaryHash');
    }
    writeOpaque(w, m.opaqueData);
    writeRequesterContext(w, m.version, m.requesterContext, 'CHALLENGE_AUTH');
    writeSized(w, m.signature, ctx.sizes?.signatureSize, 'Signature');
  },
  decode(r: Reader, ctx: SpdmCodecContext): ChallengeAuth {
    const hr = readHeader(r, SPDM_CHALLENGE_AUTH);
    checkLayoutVersion(r, hr.version);
    const req = ctx.request;
    if (req?.code !== SPDM_CHALLENGE) {
      throw r.error('ctx.request', 'bad-field', 'CHALLENGE_AUTH needs the CHALLENGE it answers');
    }
    const h = needSize(r, ctx, 'hashSize');
    const s = needSize(r, ctx, 'signatureSize');
    const certChainHash = r.bytes(h, 'CertChainHash');
    const nonce = r.bytes(SPDM_NONCE_SIZE, 'Nonce');
    const measurementSummaryHash =
      req.measurementSummaryHashType !== 0 ? r.bytes(h, 'MeasurementSummaryHash') : undefined;
    const opaqueData = readOpaque(r);
    const requesterContext = readRequesterContext(r, hr.version);
    const signature = r.bytes(s, 'Signature');
    return {
      version: hr.version,
      code: SPDM_CHALLENGE_AUTH,
      slotId: hr.param1 & SLOT_MASK,
      reserved1: reservedValue(hr.param1 & 0xf0),
      slotMask: hr.param2,
      certChainHash,
      nonce,
      measurementSummaryHash,
      opaqueData,
      requesterContext,
      signature,
    };
  },
};
