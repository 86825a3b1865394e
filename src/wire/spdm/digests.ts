/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.6 "GET_DIGESTS request and DIGESTS response".
 *
 * DIGESTS: Param2 = slot mask (ProvisionedSlotMask in 1.3), then H bytes per set bit,
 * lowest slot first. 1.3 adds Param1 = SupportedSlotMask and, when the connection
 * negotiated MULTI_KEY_CONN_RSP, three arrays after the digests: KeyPairID[n] (u8),
 * CertificateInfo[n] (u8), KeyUsageMask[n] (u16) with n = the number of digests
 * (libspdm spdm_digest_response_t). The codec context does not carry MULTI_KEY_CONN, so
 * the decoder recognises the arrays by their size: after the digests there is either
 * nothing or exactly 4 bytes per slot (anything else is trailing). libspdm's responder
 * sends them in the 1.3 captures.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import { SPDM_DIGESTS, SPDM_GET_DIGESTS, SPDM_VERSION_13 } from './constants.ts';
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

/** GET_DIGESTS: header only; Param1/Param2 reserved. */
export interface GetDigests extends SpdmHeaderFields {
  code: typeof SPDM_GET_DIGESTS;
  reserved1?: number;
  reserved2?: number;
}

/** DIGESTS. */
export interface Digests extends SpdmHeaderFields {
  code: typeof SPDM_DIGESTS;
  /** Param1: 1.3 SupportedSlotMask; reserved before (kept raw). */
  supportedSlotMask: number;
  /** Param2: the slots whose digest follows (1.3 ProvisionedSlotMask). */
  slotMask: number;
  /** One H-byte digest per set bit of slotMask, lowest slot first. */
  digests: Uint8Array[];
  /** 1.3 with MULTI_KEY_CONN_RSP: one per digest. Undefined otherwise. */
  keyPairIds?: number[];
  /** 1.3 with MULTI_KEY_CONN_RSP: CertificateInfo (bits 2:0 CertModel), one per digest. */
  certificateInfos?: number[];
  /** 1.3 with MULTI_KEY_CONN_RSP: KeyUsageMask, one per digest. */
  keyUsageMasks?: number[];
}

/** The slot numbers set in a slot mask, lowest first. */
export function slotsOfMask(mask: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) if (mask & (1 << i)) out.push(i);
  return out;
}

export const getDigestsCodec: SpdmFamilyCodec<GetDigests> = {
  name: 'GET_DIGESTS',
  encode(w: Writer, m: GetDigests): void {
    assertLayoutVersion(m.version, m.code);
    writeHeader(w, m.version, m.code, m.reserved1 ?? 0, m.reserved2 ?? 0);
  },
  decode(r: Reader, _ctx: SpdmCodecContext): GetDigests {
    const h = readHeader(r, SPDM_GET_DIGESTS);
    checkLayoutVersion(r, h.version);
    return {
      version: h.version,
      code: SPDM_GET_DIGESTS,
      reserved1: reservedValue(h.param1),
      reserved2: reservedValue(h.param2),
    };
  },
};

export const digestsCodec: SpdmFamilyCodec<Digests> = {
  name: 'DIGESTS',
  encode(w: Writer, m: Digests, ctx: SpdmCodecContext): void {
    assertLayoutVersion(m.version, m.code);
    const n = slotsOfMask(m.slotMask).length;
    if (m.digests.length !== n) {
      throw new RangeError(`DIGESTS: slot mask has ${n} slots, got ${m.digests.length} digests`);
    }
    const multi = [m.keyPairIds, m.certificateInfos, m.keyUsageMasks];
    const some = multi.some((a) => a !== undefined);
    if (some) {
      if (m.version < SPDM_VERSION_13) throw new RangeError('DIGESTS: multi-key arrays are 1.3');
      if (!multi.every((a) => a?.length === n) || n === 0) {
        throw new RangeError(`DIGESTS: multi-key arrays need ${n} (> 0) entries each`);
      }
    }
    const h = ctx.sizes?.hashSize;
    writeHeader(w, m.version, m.code, m.supportedSlotMask, m.slotMask);
    for (const d of m.digests) writeSized(w, d, h, 'Digest');
    if (some) {
      for (const v of m.keyPairIds ?? []) w.u8(v, 'KeyPairID');
      for (const v of m.certificateInfos ?? []) w.u8(v, 'CertificateInfo');
      for (const v of m.keyUsageMasks ?? []) w.u16(v, 'KeyUsageMask');
    }
  },
  decode(r: Reader, ctx: SpdmCodecContext): Digests {
    const hr = readHeader(r, SPDM_DIGESTS);
    checkLayoutVersion(r, hr.version);
    const h = needSize(r, ctx, 'hashSize');
    const n = slotsOfMask(hr.param2).length;
    const digests: Uint8Array[] = [];
    for (let i = 0; i < n; i++) digests.push(r.bytes(h, 'Digest'));
    const m: Digests = {
      version: hr.version,
      code: SPDM_DIGESTS,
      supportedSlotMask: hr.param1,
      slotMask: hr.param2,
      digests,
    };
    // 1.3 MULTI_KEY_CONN: 4 bytes per digest follow. Fewer bytes left can only be padding.
    if (hr.version >= SPDM_VERSION_13 && n > 0 && r.remaining >= 4 * n) {
      m.keyPairIds = [];
      m.certificateInfos = [];
      m.keyUsageMasks = [];
      for (let i = 0; i < n; i++) m.keyPairIds.push(r.u8('KeyPairID'));
      for (let i = 0; i < n; i++) m.certificateInfos.push(r.u8('CertificateInfo'));
      for (let i = 0; i < n; i++) m.keyUsageMasks.push(r.u16('KeyUsageMask'));
    }
    return m;
  },
};
