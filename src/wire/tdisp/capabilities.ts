/**
 * GET_TDISP_CAPABILITIES (0x82) / TDISP_CAPABILITIES (0x02): PCIe Base 6.x 11.3.6 / 11.3.7.
 * Request: TSM_CAPS u32. Response: DSM_CAPS u32 | REQ_MSGS_SUPPORTED[16] |
 * LOCK_INTERFACE_FLAGS_SUPPORTED u16 | Reserved[3] | DEV_ADDR_WIDTH u8 | NUM_REQ_THIS u8 |
 * NUM_REQ_ALL u8.
 */
import type { TdispFamilyCodec } from './codec.ts';
import {
  type PCI_TDISP_CAPABILITIES,
  type PCI_TDISP_GET_CAPABILITIES,
  PCI_TDISP_REQ_MSGS_SUPPORTED_SIZE,
} from './constants.ts';
import { type TdispMsg, withBody } from './header.ts';

export type GetTdispCapabilities = TdispMsg<typeof PCI_TDISP_GET_CAPABILITIES, { tsmCaps: number }>;
export type TdispCapabilities = TdispMsg<
  typeof PCI_TDISP_CAPABILITIES,
  {
    dsmCaps: number;
    /** 16-byte bitmap: bit n set = request code 0x80 + n supported. */
    reqMsgsSupported: Uint8Array;
    /** LOCK_INTERFACE_FLAGS the DSM supports. */
    lockInterfaceFlagsSupported: number;
    /** The 3 reserved bytes; absent when zero. */
    capsReserved?: Uint8Array;
    devAddrWidth: number;
    numReqThis: number;
    numReqAll: number;
  }
>;

export const getTdispCapabilitiesCodec: TdispFamilyCodec<GetTdispCapabilities> = {
  name: 'GET_TDISP_CAPABILITIES',
  decode: (r, h) => withBody<GetTdispCapabilities>(h, { tsmCaps: r.u32('TSM_CAPS') }),
  encode(w, m) {
    w.u32(m.tsmCaps, 'TSM_CAPS');
  },
};

export const tdispCapabilitiesCodec: TdispFamilyCodec<TdispCapabilities> = {
  name: 'TDISP_CAPABILITIES',
  decode(r, h) {
    const dsmCaps = r.u32('DSM_CAPS');
    const reqMsgsSupported = r.bytes(PCI_TDISP_REQ_MSGS_SUPPORTED_SIZE, 'REQ_MSGS_SUPPORTED');
    const lockInterfaceFlagsSupported = r.u16('LOCK_INTERFACE_FLAGS_SUPPORTED');
    const capsReserved = r.reservedBytes(3, 'Reserved');
    const c = withBody<TdispCapabilities>(h, {
      dsmCaps,
      reqMsgsSupported,
      lockInterfaceFlagsSupported,
      devAddrWidth: r.u8('DEV_ADDR_WIDTH'),
      numReqThis: r.u8('NUM_REQ_THIS'),
      numReqAll: r.u8('NUM_REQ_ALL'),
    });
    if (capsReserved !== undefined) c.capsReserved = capsReserved;
    return c;
  },
  encode(w, m) {
    w.u32(m.dsmCaps, 'DSM_CAPS')
      .fixed(m.reqMsgsSupported, PCI_TDISP_REQ_MSGS_SUPPORTED_SIZE, 'REQ_MSGS_SUPPORTED')
      .u16(m.lockInterfaceFlagsSupported, 'LOCK_INTERFACE_FLAGS_SUPPORTED')
      .fixed(m.capsReserved ?? new Uint8Array(3), 3, 'Reserved')
      .u8(m.devAddrWidth, 'DEV_ADDR_WIDTH')
      .u8(m.numReqThis, 'NUM_REQ_THIS')
      .u8(m.numReqAll, 'NUM_REQ_ALL');
  },
};

/** The request codes a REQ_MSGS_SUPPORTED bitmap marks (bit n = code 0x80 + n). */
export function reqMsgsSupportedCodes(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let n = 0; n < bitmap.length * 8 && n < 128; n++) {
    if (bitmap[n >>> 3] & (1 << (n & 7))) out.push(0x80 + n);
  }
  return out;
}

/** Builds a REQ_MSGS_SUPPORTED bitmap. @throws RangeError on a code outside 0x80..0xFF. */
export function reqMsgsSupportedBitmap(codes: readonly number[]): Uint8Array {
  const out = new Uint8Array(PCI_TDISP_REQ_MSGS_SUPPORTED_SIZE);
  for (const c of codes) {
    if (!Number.isInteger(c) || c < 0x80 || c > 0xff) throw new RangeError(`request code ${c}`);
    out[(c - 0x80) >>> 3] |= 1 << ((c - 0x80) & 7);
  }
  return out;
}
