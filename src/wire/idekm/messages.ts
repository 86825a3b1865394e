/**
 * The union of every IDE_KM object teeio encodes and decodes, discriminated on `objectId`
 * (the first byte, compared against the PCI_IDE_KM_OBJECT_ID_* constants), plus the unknown
 * case (`kind: 'unknown'`) for Object IDs without a codec. Each family lives in its own
 * file; this file gathers the types and re-exports the codec entry points for the callers
 * that import them with the types.
 */
import type { IdeKmKGoStopAck, IdeKmKSetGo, IdeKmKSetStop } from './k-set.ts';
import type { IdeKmKeyProg, IdeKmKpAck } from './key-prog.ts';
import type { IdeKmQuery, IdeKmQueryResp } from './query.ts';
import type { IdeKmUnknown } from './unknown.ts';

export {
  decodeIdeKm,
  encodeIdeKm,
  type IdeKmCodecOptions,
  type IdeKmFamilyCodec,
} from './codec.ts';
export type { IdeKmKGoStopAck, IdeKmKSetGo, IdeKmKSetStop } from './k-set.ts';
export {
  IDE_KM_KEY_PROG_SIZE,
  type IdeKmKeyProg,
  type IdeKmKpAck,
  type KeyOrder,
} from './key-prog.ts';
export type { IdeKmQuery, IdeKmQueryResp } from './query.ts';
export {
  decodeKeySubStream,
  encodeKeySubStream,
  IDE_KM_STREAM_MESSAGE_SIZE,
  type KeySubStream,
} from './stream-fields.ts';
export type { IdeKmUnknown } from './unknown.ts';

// Families add their object types to this union (one line each).
export type IdeKmKnownMessage =
  | IdeKmQuery
  | IdeKmQueryResp
  | IdeKmKeyProg
  | IdeKmKpAck
  | IdeKmKSetGo
  | IdeKmKSetStop
  | IdeKmKGoStopAck;

/** What `decodeIdeKm` returns and `encodeIdeKm` takes. */
export type IdeKmMessage = IdeKmKnownMessage | IdeKmUnknown;
