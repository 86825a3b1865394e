/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.12 "ERROR response".
 *
 * Param1 = ErrorCode, Param2 = ErrorData, then ExtendedErrorData (at most 32 bytes).
 * ResponseNotReady (0x42) carries four bytes: RDTExponent, RequestCode, Token, RDTM
 * (libspdm spdm_error_data_response_not_ready_t); LargeResponse (0x0F, 1.3) one byte, the
 * Handle. Those two end where their fields end. Every other code keeps its extended data
 * raw, and that data is the rest of the message: no field delimits it (VendorDefined's
 * OpaqueErrorData has no length either), so over PCI DOE, where nothing says how many zero
 * bytes padded the object, it includes the padding. Zeros that belong to it are thus never
 * lost; a sender whose data is not a dword multiple sees it come back zero-extended.
 * An ERROR may carry any SPDMVersion (VersionMismatch is sent at 0x10), so the header
 * version is not checked here.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import { SPDM_ERROR, SPDM_ERROR_CODE, SPDM_EXTENDED_ERROR_DATA_MAX_SIZE } from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { readHeader, writeHeader } from './version.ts';

/** ResponseNotReady extended error data. */
export interface ResponseNotReadyData {
  /** The responder needs 2^RDTExponent microseconds. */
  rdtExponent: number;
  /** The request code being worked on (echoed in RESPOND_IF_READY Param1). */
  requestCode: number;
  /** Echoed in RESPOND_IF_READY Param2. */
  token: number;
  /** RDTM: multiplier for the requester's timeout. */
  rdtm: number;
}

/** ERROR. */
export interface ErrorResponse extends SpdmHeaderFields {
  code: typeof SPDM_ERROR;
  /** Param1: SPDM_ERROR_CODE value; unknown codes kept. */
  errorCode: number;
  /** Param2: ErrorData. */
  errorData: number;
  /** Present iff errorCode is ResponseNotReady. */
  responseNotReady?: ResponseNotReadyData;
  /** The extended data of every other code, raw (empty when there is none). */
  extendedData?: Uint8Array;
}

export const errorCodec: SpdmFamilyCodec<ErrorResponse> = {
  name: 'ERROR',
  encode(w: Writer, m: ErrorResponse): void {
    const rnr = m.errorCode === SPDM_ERROR_CODE.ResponseNotReady;
    if (rnr !== (m.responseNotReady !== undefined) || (rnr && m.extendedData !== undefined)) {
      throw new RangeError('ERROR: responseNotReady goes with ResponseNotReady, extendedData not');
    }
    const ext = m.extendedData ?? new Uint8Array(0);
    if (ext.length > SPDM_EXTENDED_ERROR_DATA_MAX_SIZE) {
      throw new RangeError(`ERROR: ${ext.length} bytes of extended data > 32`);
    }
    if (m.errorCode === SPDM_ERROR_CODE.LargeResponse && ext.length !== 1) {
      throw new RangeError(`ERROR: LargeResponse carries a 1-byte Handle, not ${ext.length}`);
    }
    writeHeader(w, m.version, m.code, m.errorCode, m.errorData);
    if (m.responseNotReady) {
      const d = m.responseNotReady;
      w.u8(d.rdtExponent, 'RDTExponent')
        .u8(d.requestCode, 'RequestCode')
        .u8(d.token, 'Token')
        .u8(d.rdtm, 'RDTM');
    } else {
      w.bytes(ext);
    }
  },
  decode(r: Reader, _ctx: SpdmCodecContext): ErrorResponse {
    const h = readHeader(r, SPDM_ERROR);
    const base: ErrorResponse = {
      version: h.version,
      code: SPDM_ERROR,
      errorCode: h.param1,
      errorData: h.param2,
    };
    if (h.param1 === SPDM_ERROR_CODE.ResponseNotReady) {
      const responseNotReady = {
        rdtExponent: r.u8('RDTExponent'),
        requestCode: r.u8('RequestCode'),
        token: r.u8('Token'),
        rdtm: r.u8('RDTM'),
      };
      return { ...base, responseNotReady };
    }
    if (h.param1 === SPDM_ERROR_CODE.LargeResponse) {
      return { ...base, extendedData: r.bytes(1, 'Handle') };
    }
    if (r.remaining > SPDM_EXTENDED_ERROR_DATA_MAX_SIZE) {
      throw r.error('ExtendedErrorData', 'too-large', `${r.remaining} bytes > 32`);
    }
    return { ...base, extendedData: r.rest('ExtendedErrorData') };
  },
};
