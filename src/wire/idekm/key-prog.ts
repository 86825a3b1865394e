/**
 * KEY_PROG (0x02) and its answer KP_ACK (0x03): PCIe Base 6.x 6.33.3. KEY_PROG is the stream
 * fields (stream-fields.ts) then Key (8 dwords, AES-GCM-256) and IFV (2 dwords); KP_ACK is
 * the stream fields with byte 4 as Status (KP_ACK_STATUS).
 */

import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';
import type { IdeKmFamilyCodec } from './codec.ts';
import {
  PCI_IDE_KM_IFV_DWORDS,
  PCI_IDE_KM_KEY_DWORDS,
  type PCI_IDE_KM_OBJECT_ID_KEY_PROG,
  type PCI_IDE_KM_OBJECT_ID_KP_ACK,
} from './constants.ts';
import { readStreamFields, type StreamFields, writeStreamFields } from './stream-fields.ts';

/**
 * Dword order of KEY_PROG's Key and IFV on the wire.
 * - 'spdm-emu' (default): key[0..7] then iv[0..1], as spdm-emu copies its key buffer.
 * - 'spdm-rs': key[7..0] then iv[1..0]; spdm-rs's `Aes256GcmKeyBuffer` writes the dwords in
 *   reverse order, each dword still little-endian (the bytes inside a dword do not move).
 */
export type KeyOrder = 'spdm-emu' | 'spdm-rs';

export interface IdeKmKeyProg extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_KEY_PROG;
  /** Byte 4, reserved. */
  reserved2?: number;
  /**
   * The AES-GCM-256 key as 8 u32 dwords, indexed like spdm-emu's key buffer
   * (`pci_ide_km_aes_256_gcm_key_buffer_t.key[0..7]`); the wire order depends on `keyOrder`.
   */
  key: readonly number[];
  /** The IV invocation field as 2 u32 dwords (`iv[0..1]`), same ordering rule. */
  ifv: readonly number[];
}

export interface IdeKmKpAck extends StreamFields {
  objectId: typeof PCI_IDE_KM_OBJECT_ID_KP_ACK;
  /** KP_ACK_STATUS; unknown values kept. */
  status: number;
}

/** KEY_PROG: 7-byte header + Key (32) + IFV (8). */
export const IDE_KM_KEY_PROG_SIZE = 7 + 4 * (PCI_IDE_KM_KEY_DWORDS + PCI_IDE_KM_IFV_DWORDS);

// Field names carry no dword index: the error's byte offset already says which dword.
function readDwords(r: Reader, n: number, field: string): number[] {
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = r.u32(field);
  return out;
}

function writeDwords(
  w: Writer,
  v: readonly number[],
  n: number,
  field: string,
  reversed: boolean,
): void {
  if (v.length !== n) throw new RangeError(`${field}: expected ${n} dwords, got ${v.length}`);
  for (let i = 0; i < n; i++) w.u32(v[reversed ? n - 1 - i : i], field);
}

export const keyProgCodec: IdeKmFamilyCodec<IdeKmKeyProg> = {
  name: 'KEY_PROG',
  decode(r, objectId, opts) {
    const [k, byte4] = readStreamFields<IdeKmKeyProg>(r, objectId as IdeKmKeyProg['objectId']);
    const key = readDwords(r, PCI_IDE_KM_KEY_DWORDS, 'Key');
    const ifv = readDwords(r, PCI_IDE_KM_IFV_DWORDS, 'IFV');
    if (opts.keyOrder === 'spdm-rs') {
      key.reverse();
      ifv.reverse();
    }
    k.key = key;
    k.ifv = ifv;
    if (byte4 !== 0) k.reserved2 = byte4;
    return k;
  },
  encode(w, m, opts) {
    writeStreamFields(w, m, m.reserved2 ?? 0);
    const rs = opts.keyOrder === 'spdm-rs';
    writeDwords(w, m.key, PCI_IDE_KM_KEY_DWORDS, 'Key', rs);
    writeDwords(w, m.ifv, PCI_IDE_KM_IFV_DWORDS, 'IFV', rs);
  },
};

export const kpAckCodec: IdeKmFamilyCodec<IdeKmKpAck> = {
  name: 'KP_ACK',
  decode(r, objectId) {
    const [k, status] = readStreamFields<IdeKmKpAck>(r, objectId as IdeKmKpAck['objectId']);
    k.status = status;
    return k;
  },
  encode(w, m) {
    writeStreamFields(w, m, m.status);
  },
};
