/**
 * The union of every CXL_IDE_KM object teeio encodes and decodes, discriminated on
 * `objectId`, plus the unknown case. Each family lives in its own file.
 */
import type { CxlIdeKmGetKey, CxlIdeKmGetKeyAck } from './get-key.ts';
import type { CxlIdeKmKGoStopAck, CxlIdeKmKSetGo, CxlIdeKmKSetStop } from './k-set.ts';
import type { CxlIdeKmKeyProg, CxlIdeKmKpAck } from './key-prog.ts';
import type { CxlIdeKmQuery, CxlIdeKmQueryResp } from './query.ts';
import type { CxlIdeKmUnknown } from './unknown.ts';

export { type CxlIdeKmFamilyCodec, decodeCxlIdeKm, encodeCxlIdeKm } from './codec.ts';
export type { CxlIdeKmGetKey, CxlIdeKmGetKeyAck } from './get-key.ts';
export type { CxlIdeKmKGoStopAck, CxlIdeKmKSetGo, CxlIdeKmKSetStop } from './k-set.ts';
export { CXL_IDE_KM_KEY_PROG_SIZE, type CxlIdeKmKeyProg, type CxlIdeKmKpAck } from './key-prog.ts';
export type { CxlIdeKmQuery, CxlIdeKmQueryResp } from './query.ts';
export {
  CXL_IDE_KM_STREAM_MESSAGE_SIZE,
  CXL_SUB_STREAM_CACHEMEM,
  type CxlKeySubStream,
  type CxlStreamFields,
  decodeCxlKeySubStream,
  encodeCxlKeySubStream,
} from './stream-fields.ts';
export type { CxlIdeKmUnknown } from './unknown.ts';

export type CxlIdeKmKnownMessage =
  | CxlIdeKmQuery
  | CxlIdeKmQueryResp
  | CxlIdeKmKeyProg
  | CxlIdeKmKpAck
  | CxlIdeKmKSetGo
  | CxlIdeKmKSetStop
  | CxlIdeKmKGoStopAck
  | CxlIdeKmGetKey
  | CxlIdeKmGetKeyAck;

/** What `decodeCxlIdeKm` returns and `encodeCxlIdeKm` takes. */
export type CxlIdeKmMessage = CxlIdeKmKnownMessage | CxlIdeKmUnknown;
