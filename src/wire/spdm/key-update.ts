/**
 * KEY_UPDATE (0xE9) / KEY_UPDATE_ACK (0x69): DMTF DSP0274 1.1-1.3, "KEY_UPDATE request and
 * KEY_UPDATE_ACK response messages". Header only: param1 KeyOperation (1 UpdateKey,
 * 2 UpdateAllKeys, 3 VerifyNewKey; other values decode to their number), param2 Tag, which
 * the ACK echoes together with the operation.
 */
import type { SpdmFamilyCodec } from './codec.ts';
import { SPDM_KEY_UPDATE, SPDM_KEY_UPDATE_ACK } from './constants.ts';
import type { SpdmHeaderFields } from './messages.ts';
import { readSessionHeader, writeSessionHeader } from './session-fields.ts';

export interface KeyUpdate extends SpdmHeaderFields {
  code: typeof SPDM_KEY_UPDATE;
  /** Param1: KeyOperation (SPDM_KEY_UPDATE_OP). */
  keyOperation: number;
  /** Param2: Tag, echoed by KEY_UPDATE_ACK so retries can be told apart. */
  tag: number;
}

export interface KeyUpdateAck extends SpdmHeaderFields {
  code: typeof SPDM_KEY_UPDATE_ACK;
  /** Param1: the KeyOperation acknowledged. */
  keyOperation: number;
  /** Param2: the request's Tag. */
  tag: number;
}

function keyUpdateFamily<M extends KeyUpdate | KeyUpdateAck>(
  name: string,
  code: M['code'],
): SpdmFamilyCodec<M> {
  return {
    name,
    encode(w, m) {
      writeSessionHeader(w, m.version, code, name);
      w.u8(m.keyOperation, 'KeyOperation').u8(m.tag, 'Tag');
    },
    decode(r) {
      const version = readSessionHeader(r, name);
      const keyOperation = r.u8('KeyOperation');
      const tag = r.u8('Tag');
      return { version, code, keyOperation, tag } as M;
    },
  };
}

export const keyUpdateCodec = keyUpdateFamily<KeyUpdate>('KEY_UPDATE', SPDM_KEY_UPDATE);
export const keyUpdateAckCodec = keyUpdateFamily<KeyUpdateAck>(
  'KEY_UPDATE_ACK',
  SPDM_KEY_UPDATE_ACK,
);
