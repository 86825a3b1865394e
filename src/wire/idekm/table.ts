/**
 * Dispatch table from IDE_KM Object ID to the object codec. Each family file exports its
 * codecs; add one line per id here. Ids not listed decode to the unknown case.
 */
import type { IdeKmFamilyCodec } from './codec.ts';
import * as C from './constants.ts';
import { kGoStopAckCodec, kSetGoCodec, kSetStopCodec } from './k-set.ts';
import { keyProgCodec, kpAckCodec } from './key-prog.ts';
import { queryCodec, queryRespCodec } from './query.ts';

export const IDE_KM_CODECS: Readonly<Record<number, IdeKmFamilyCodec>> = {
  [C.PCI_IDE_KM_OBJECT_ID_QUERY]: queryCodec,
  [C.PCI_IDE_KM_OBJECT_ID_QUERY_RESP]: queryRespCodec,
  [C.PCI_IDE_KM_OBJECT_ID_KEY_PROG]: keyProgCodec,
  [C.PCI_IDE_KM_OBJECT_ID_KP_ACK]: kpAckCodec,
  [C.PCI_IDE_KM_OBJECT_ID_K_SET_GO]: kSetGoCodec,
  [C.PCI_IDE_KM_OBJECT_ID_K_SET_STOP]: kSetStopCodec,
  [C.PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK]: kGoStopAckCodec,
};
