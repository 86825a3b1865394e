/**
 * Dispatch table from CXL_IDE_KM Object ID to the object codec; ids not listed decode to
 * the unknown case.
 */
import type { CxlIdeKmFamilyCodec } from './codec.ts';
import * as C from './constants.ts';
import { cxlGetKeyAckCodec, cxlGetKeyCodec } from './get-key.ts';
import { cxlKGoStopAckCodec, cxlKSetGoCodec, cxlKSetStopCodec } from './k-set.ts';
import { cxlKeyProgCodec, cxlKpAckCodec } from './key-prog.ts';
import { cxlQueryCodec, cxlQueryRespCodec } from './query.ts';

export const CXL_IDE_KM_CODECS: Readonly<Record<number, CxlIdeKmFamilyCodec>> = {
  [C.CXL_IDE_KM_OBJECT_ID_QUERY]: cxlQueryCodec,
  [C.CXL_IDE_KM_OBJECT_ID_QUERY_RESP]: cxlQueryRespCodec,
  [C.CXL_IDE_KM_OBJECT_ID_KEY_PROG]: cxlKeyProgCodec,
  [C.CXL_IDE_KM_OBJECT_ID_KP_ACK]: cxlKpAckCodec,
  [C.CXL_IDE_KM_OBJECT_ID_K_SET_GO]: cxlKSetGoCodec,
  [C.CXL_IDE_KM_OBJECT_ID_K_SET_STOP]: cxlKSetStopCodec,
  [C.CXL_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK]: cxlKGoStopAckCodec,
  [C.CXL_IDE_KM_OBJECT_ID_GET_KEY]: cxlGetKeyCodec,
  [C.CXL_IDE_KM_OBJECT_ID_GET_KEY_ACK]: cxlGetKeyAckCodec,
};
