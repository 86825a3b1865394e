/**
 * Dispatch table from RequestResponseCode to the family codec. Each family file exports
 * its codecs; add one line per code here.
 */
import type { SpdmFamilyCodec } from './codec.ts';

export const SPDM_CODECS: Readonly<Record<number, SpdmFamilyCodec>> = {};
