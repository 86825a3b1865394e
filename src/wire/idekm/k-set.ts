/**
 * K_SET_GO (0x04) / K_SET_STOP (0x05) and their answer K_GOSTOP_ACK (0x06): PCIe Base 6.x
 * 6.33.3. All three are the stream fields alone (stream-fields.ts), byte 4 reserved.
 */

import type { IdeKmFamilyCodec } from './codec.ts';
import type {
  PCI_IDE_KM_OBJECT_ID_K_SET_GO,
  PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
  PCI_IDE_KM_OBJECT_ID_K_SET_STOP,
} from './constants.ts';
import { readStreamFields, type StreamFields, writeStreamFields } from './stream-fields.ts';

export interface IdeKmKSetGo extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_K_SET_GO;
  reserved2?: number;
}

export interface IdeKmKSetStop extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_K_SET_STOP;
  reserved2?: number;
}

export interface IdeKmKGoStopAck extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK;
  reserved2?: number;
}

/** The codec of an object that is bytes 1..6 alone, byte 4 reserved (K_SET_*, K_GOSTOP_ACK). */
function streamOnlyCodec<M extends IdeKmKSetGo | IdeKmKSetStop | IdeKmKGoStopAck>(
  name: string,
): IdeKmFamilyCodec<M> {
  return {
    name,
    decode(r, objectId) {
      const [m, byte4] = readStreamFields<M>(r, objectId as M['objectId']);
      if (byte4 !== 0) m.reserved2 = byte4;
      return m;
    },
    encode(w, m) {
      writeStreamFields(w, m, m.reserved2 ?? 0);
    },
  };
}

export const kSetGoCodec = streamOnlyCodec<IdeKmKSetGo>('K_SET_GO');
export const kSetStopCodec = streamOnlyCodec<IdeKmKSetStop>('K_SET_STOP');
export const kGoStopAckCodec = streamOnlyCodec<IdeKmKGoStopAck>('K_GOSTOP_ACK');
