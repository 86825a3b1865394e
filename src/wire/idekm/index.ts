/** IDE_KM (PCIe Base 6.x section 6.33.3): the codec and its spec constants. */
export * from './constants.ts';
export {
  decodeIdeKm,
  decodeKeySubStream,
  encodeIdeKm,
  encodeKeySubStream,
  IDE_KM_KEY_PROG_SIZE,
  IDE_KM_STREAM_MESSAGE_SIZE,
  type IdeKmCodecOptions,
  type IdeKmKeyProg,
  type IdeKmKGoStopAck,
  type IdeKmKnownMessage,
  type IdeKmKpAck,
  type IdeKmKSetGo,
  type IdeKmKSetStop,
  type IdeKmMessage,
  type IdeKmQuery,
  type IdeKmQueryResp,
  type IdeKmUnknown,
  type KeyOrder,
  type KeySubStream,
} from './messages.ts';
