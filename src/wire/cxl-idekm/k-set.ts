/**
 * K_SET_GO (0x04) / K_SET_STOP (0x05) and their answer K_GOSTOP_ACK (0x06): CXL 3.x 11.4
 * (key activation). All three are the stream fields alone, byte 4 reserved; K_SET_GO's key
 * sub-stream bit 3 picks Skid (0) or Containment (1) mode.
 */
import type { CxlIdeKmFamilyCodec } from './codec.ts';
import type {
  CXL_IDE_KM_OBJECT_ID_GET_KEY,
  CXL_IDE_KM_OBJECT_ID_K_SET_GO,
  CXL_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
  CXL_IDE_KM_OBJECT_ID_K_SET_STOP,
} from './constants.ts';
import {
  type CxlStreamFields,
  readCxlStreamFields,
  writeCxlStreamFields,
} from './stream-fields.ts';

export interface CxlIdeKmKSetGo extends CxlStreamFields {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_K_SET_GO;
  reserved2?: number;
}

export interface CxlIdeKmKSetStop extends CxlStreamFields {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_K_SET_STOP;
  reserved2?: number;
}

export interface CxlIdeKmKGoStopAck extends CxlStreamFields {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK;
  reserved2?: number;
}

/** GETKEY (get-key.ts) has the same stream-fields-only layout. */
export interface CxlIdeKmGetKey extends CxlStreamFields {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_GET_KEY;
  reserved2?: number;
}

type StreamOnly = CxlIdeKmKSetGo | CxlIdeKmKSetStop | CxlIdeKmKGoStopAck | CxlIdeKmGetKey;

/** The codec of an object that is bytes 1..6 alone, byte 4 reserved. */
export function streamOnlyCodec<M extends StreamOnly>(name: string): CxlIdeKmFamilyCodec<M> {
  return {
    name,
    decode(r, objectId) {
      const [m, byte4] = readCxlStreamFields<M>(r, objectId as M['objectId']);
      if (byte4 !== 0) m.reserved2 = byte4;
      return m;
    },
    encode(w, m) {
      writeCxlStreamFields(w, m, m.reserved2 ?? 0);
    },
  };
}

export const cxlKSetGoCodec = streamOnlyCodec<CxlIdeKmKSetGo>('K_SET_GO');
export const cxlKSetStopCodec = streamOnlyCodec<CxlIdeKmKSetStop>('K_SET_STOP');
export const cxlKGoStopAckCodec = streamOnlyCodec<CxlIdeKmKGoStopAck>('K_GOSTOP_ACK');
