/**
 * DSP0274 (SPDM) 1.0-1.3, section 10.13 "RESPOND_IF_READY request".
 *
 * Header only: Param1 = the RequestCode and Param2 = the Token of the ResponseNotReady
 * ERROR being followed up. Like ERROR it is accepted at any header version.
 */
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import { SPDM_RESPOND_IF_READY } from './constants.ts';
import type { SpdmCodecContext } from './context.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { readHeader, writeHeader } from './version.ts';

/** RESPOND_IF_READY. */
export interface RespondIfReady extends SpdmHeaderFields {
  code: typeof SPDM_RESPOND_IF_READY;
  /** Param1: the request code from ResponseNotReady. */
  requestCode: number;
  /** Param2: the token from ResponseNotReady. */
  token: number;
}

export const respondIfReadyCodec: SpdmFamilyCodec<RespondIfReady> = {
  name: 'RESPOND_IF_READY',
  encode(w: Writer, m: RespondIfReady): void {
    writeHeader(w, m.version, m.code, m.requestCode, m.token);
  },
  decode(r: Reader, _ctx: SpdmCodecContext): RespondIfReady {
    const h = readHeader(r, SPDM_RESPOND_IF_READY);
    return {
      version: h.version,
      code: SPDM_RESPOND_IF_READY,
      requestCode: h.param1,
      token: h.param2,
    };
  },
};
