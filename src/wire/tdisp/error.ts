/**
 * TDISP_ERROR (0x7F): PCIe Base 6.x 11.3, the DSM's error response. Body: ErrorCode u32 |
 * ErrorData u32 | ExtendedErrorData (optional). For VendorSpecificError the extended data
 * is REGISTRY_ID u8 | VENDOR_ID_LEN u8 | VENDOR_ID | vendor error data, and is parsed.
 */
import type { TdispFamilyCodec } from './codec.ts';
import { type PCI_TDISP_ERROR, PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR } from './constants.ts';
import { type TdispMsg, withBody } from './header.ts';

/** Extended error data of VendorSpecificError: REGISTRY_ID, VENDOR_ID_LEN, VENDOR_ID, data. */
export interface VendorErrorData {
  registryId: number;
  vendorId: Uint8Array;
  data: Uint8Array;
}

export type TdispError = TdispMsg<
  typeof PCI_TDISP_ERROR,
  {
    /** TDISP_ERROR_CODE; unknown values kept. */
    errorCode: number;
    /** For UnsupportedRequest the request's MessageType; otherwise code-specific or 0. */
    errorData: number;
    /** Extended error data kept raw, for every code but VendorSpecificError; absent when empty. */
    extendedErrorData?: Uint8Array;
    /** Parsed extended error data of VendorSpecificError (0xFF); absent when empty. */
    vendorError?: VendorErrorData;
  }
>;

export const tdispErrorCodec: TdispFamilyCodec<TdispError> = {
  name: 'TDISP_ERROR',
  decode(r, h) {
    const m = withBody<TdispError>(h, {
      errorCode: r.u32('ErrorCode'),
      errorData: r.u32('ErrorData'),
    });
    if (r.remaining === 0) return m;
    if (m.errorCode === PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR) {
      const registryId = r.u8('ExtendedErrorData.REGISTRY_ID');
      const vendorId = r.bytes(
        r.u8('ExtendedErrorData.VENDOR_ID_LEN'),
        'ExtendedErrorData.VENDOR_ID',
      );
      m.vendorError = { registryId, vendorId, data: r.rest('ExtendedErrorData.VendorErrorData') };
    } else {
      m.extendedErrorData = r.rest('ExtendedErrorData');
    }
    return m;
  },
  encode(w, m) {
    w.u32(m.errorCode, 'ErrorCode').u32(m.errorData, 'ErrorData');
    if (m.vendorError && m.extendedErrorData) {
      throw new RangeError('TDISP_ERROR: extendedErrorData and vendorError are exclusive');
    }
    if (m.vendorError) {
      if (m.errorCode !== PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR) {
        throw new RangeError('TDISP_ERROR: vendorError needs ErrorCode VendorSpecificError');
      }
      w.u8(m.vendorError.registryId, 'REGISTRY_ID')
        .u8(m.vendorError.vendorId.length, 'VENDOR_ID_LEN')
        .bytes(m.vendorError.vendorId)
        .bytes(m.vendorError.data);
    } else if (m.extendedErrorData) {
      if (m.errorCode === PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR) {
        // Would not decode back the same way: VendorSpecificError data is parsed.
        throw new RangeError('TDISP_ERROR: VendorSpecificError extended data goes in vendorError');
      }
      w.bytes(m.extendedErrorData);
    }
  },
};
