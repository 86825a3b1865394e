/**
 * KEY_PROG (0x02) and its answer KP_ACK (0x03): CXL 3.x 11.4 (key programming). KEY_PROG is
 * the stream fields then Key (8 dwords, AES-GCM-256) and Pending Initial IV (3 dwords,
 * ignored when the key sub-stream byte asks for the default IV); KP_ACK is the stream fields
 * with byte 4 as Status (CXL_KP_ACK_STATUS). Dwords are kept in wire order, indexed like
 * libspdm's cxl_ide_km_aes_256_gcm_key_buffer_t key[0..7], iv[0..2].
 */
import type { CxlIdeKmFamilyCodec } from './codec.ts';
import {
  CXL_IDE_KM_IV_DWORDS,
  CXL_IDE_KM_KEY_DWORDS,
  type CXL_IDE_KM_OBJECT_ID_KEY_PROG,
  type CXL_IDE_KM_OBJECT_ID_KP_ACK,
} from './constants.ts';
import {
  type CxlStreamFields,
  readCxlStreamFields,
  readDwords,
  writeCxlStreamFields,
  writeDwords,
} from './stream-fields.ts';

export interface CxlIdeKmKeyProg extends CxlStreamFields {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_KEY_PROG;
  /** Byte 4, reserved. */
  reserved2?: number;
  key: readonly number[];
  /** Pending Initial IV. */
  iv: readonly number[];
}

export interface CxlIdeKmKpAck extends CxlStreamFields {
  objectId: typeof CXL_IDE_KM_OBJECT_ID_KP_ACK;
  /** CXL_KP_ACK_STATUS; unknown values kept. */
  status: number;
}

/** KEY_PROG and GETKEY_ACK: 7-byte header + Key (32) + IV (12). */
export const CXL_IDE_KM_KEY_PROG_SIZE = 7 + 4 * (CXL_IDE_KM_KEY_DWORDS + CXL_IDE_KM_IV_DWORDS);

export const cxlKeyProgCodec: CxlIdeKmFamilyCodec<CxlIdeKmKeyProg> = {
  name: 'KEY_PROG',
  decode(r, objectId) {
    const [k, byte4] = readCxlStreamFields<CxlIdeKmKeyProg>(
      r,
      objectId as CxlIdeKmKeyProg['objectId'],
    );
    k.key = readDwords(r, CXL_IDE_KM_KEY_DWORDS, 'Key');
    k.iv = readDwords(r, CXL_IDE_KM_IV_DWORDS, 'PendingInitialIV');
    if (byte4 !== 0) k.reserved2 = byte4;
    return k;
  },
  encode(w, m) {
    writeCxlStreamFields(w, m, m.reserved2 ?? 0);
    writeDwords(w, m.key, CXL_IDE_KM_KEY_DWORDS, 'Key');
    writeDwords(w, m.iv, CXL_IDE_KM_IV_DWORDS, 'PendingInitialIV');
  },
};

export const cxlKpAckCodec: CxlIdeKmFamilyCodec<CxlIdeKmKpAck> = {
  name: 'KP_ACK',
  decode(r, objectId) {
    const [k, status] = readCxlStreamFields<CxlIdeKmKpAck>(
      r,
      objectId as CxlIdeKmKpAck['objectId'],
    );
    k.status = status;
    return k;
  },
  encode(w, m) {
    writeCxlStreamFields(w, m, m.status);
  },
};
