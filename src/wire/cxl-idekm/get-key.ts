/**
 * GETKEY (0x07) and its answer GETKEY_ACK (0x08): CXL 3.x 11.4, new in CXL (PCIe IDE_KM has
 * no counterpart). A device that can generate keys (QUERY_RESP Caps KEY_GEN_CAP / IV_GEN_CAP)
 * returns the key and IV it generated for a stream, which the host then programs with
 * KEY_PROG. GETKEY is the stream fields alone; GETKEY_ACK adds Key (8 dwords) and IV
 * (3 dwords), each meaningful only when the matching capability is set.
 */
import type { CxlIdeKmFamilyCodec } from './codec.ts';
import {
  CXL_IDE_KM_IV_DWORDS,
  CXL_IDE_KM_KEY_DWORDS,
  type CXL_IDE_KM_OBJECT_ID_GET_KEY_ACK,
} from './constants.ts';
import { type CxlIdeKmGetKey, streamOnlyCodec } from './k-set.ts';
import {
  type CxlStreamFields,
  readCxlStreamFields,
  readDwords,
  writeCxlStreamFields,
  writeDwords,
} from './stream-fields.ts';

export type { CxlIdeKmGetKey } from './k-set.ts';

export interface CxlIdeKmGetKeyAck extends CxlStreamFields {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_GET_KEY_ACK;
  reserved2?: number;
  key: readonly number[];
  iv: readonly number[];
}

export const cxlGetKeyCodec = streamOnlyCodec<CxlIdeKmGetKey>('GETKEY');

export const cxlGetKeyAckCodec: CxlIdeKmFamilyCodec<CxlIdeKmGetKeyAck> = {
  name: 'GETKEY_ACK',
  decode(r, objectId) {
    const [k, byte4] = readCxlStreamFields<CxlIdeKmGetKeyAck>(
      r,
      objectId as CxlIdeKmGetKeyAck['objectId'],
    );
    k.key = readDwords(r, CXL_IDE_KM_KEY_DWORDS, 'Key');
    k.iv = readDwords(r, CXL_IDE_KM_IV_DWORDS, 'IV');
    if (byte4 !== 0) k.reserved2 = byte4;
    return k;
  },
  encode(w, m) {
    writeCxlStreamFields(w, m, m.reserved2 ?? 0);
    writeDwords(w, m.key, CXL_IDE_KM_KEY_DWORDS, 'Key');
    writeDwords(w, m.iv, CXL_IDE_KM_IV_DWORDS, 'IV');
  },
};
