/**
 * Dispatch table from RequestResponseCode to the family codec. Each family file exports
 * its codecs; add one line per code here.
 */
import { algorithmsCodec, negotiateAlgorithmsCodec } from './algorithms.ts';
import { capabilitiesCodec, getCapabilitiesCodec } from './capabilities.ts';
import { certificateCodec, getCertificateCodec } from './certificate.ts';
import { challengeAuthCodec, challengeCodec } from './challenge.ts';
import type { SpdmFamilyCodec } from './codec.ts';
import * as C from './constants.ts';
import { digestsCodec, getDigestsCodec } from './digests.ts';
import { endSessionAckCodec, endSessionCodec } from './end-session.ts';
import { errorCodec } from './error.ts';
import { finishCodec, finishRspCodec } from './finish.ts';
import { heartbeatAckCodec, heartbeatCodec } from './heartbeat.ts';
import { keyExchangeCodec, keyExchangeRspCodec } from './key-exchange.ts';
import { keyUpdateAckCodec, keyUpdateCodec } from './key-update.ts';
import { getMeasurementsCodec, measurementsCodec } from './measurements.ts';
import { pskExchangeCodec, pskExchangeRspCodec, pskFinishCodec, pskFinishRspCodec } from './psk.ts';
import { respondIfReadyCodec } from './respond-if-ready.ts';
import { vendorDefinedRequestCodec, vendorDefinedResponseCodec } from './vendor-defined.ts';
import { getVersionCodec, versionCodec } from './version.ts';

export const SPDM_CODECS: Readonly<Record<number, SpdmFamilyCodec>> = {
  [C.SPDM_GET_VERSION]: getVersionCodec,
  [C.SPDM_VERSION]: versionCodec,
  [C.SPDM_GET_CAPABILITIES]: getCapabilitiesCodec,
  [C.SPDM_CAPABILITIES]: capabilitiesCodec,
  [C.SPDM_NEGOTIATE_ALGORITHMS]: negotiateAlgorithmsCodec,
  [C.SPDM_ALGORITHMS]: algorithmsCodec,
  [C.SPDM_GET_DIGESTS]: getDigestsCodec,
  [C.SPDM_DIGESTS]: digestsCodec,
  [C.SPDM_GET_CERTIFICATE]: getCertificateCodec,
  [C.SPDM_CERTIFICATE]: certificateCodec,
  [C.SPDM_CHALLENGE]: challengeCodec,
  [C.SPDM_CHALLENGE_AUTH]: challengeAuthCodec,
  [C.SPDM_GET_MEASUREMENTS]: getMeasurementsCodec,
  [C.SPDM_MEASUREMENTS]: measurementsCodec,
  [C.SPDM_ERROR]: errorCodec,
  [C.SPDM_RESPOND_IF_READY]: respondIfReadyCodec,
  [C.SPDM_KEY_EXCHANGE]: keyExchangeCodec,
  [C.SPDM_KEY_EXCHANGE_RSP]: keyExchangeRspCodec,
  [C.SPDM_FINISH]: finishCodec,
  [C.SPDM_FINISH_RSP]: finishRspCodec,
  [C.SPDM_PSK_EXCHANGE]: pskExchangeCodec,
  [C.SPDM_PSK_EXCHANGE_RSP]: pskExchangeRspCodec,
  [C.SPDM_PSK_FINISH]: pskFinishCodec,
  [C.SPDM_PSK_FINISH_RSP]: pskFinishRspCodec,
  [C.SPDM_HEARTBEAT]: heartbeatCodec,
  [C.SPDM_HEARTBEAT_ACK]: heartbeatAckCodec,
  [C.SPDM_KEY_UPDATE]: keyUpdateCodec,
  [C.SPDM_KEY_UPDATE_ACK]: keyUpdateAckCodec,
  [C.SPDM_END_SESSION]: endSessionCodec,
  [C.SPDM_END_SESSION_ACK]: endSessionAckCodec,
  [C.SPDM_VENDOR_DEFINED_REQUEST]: vendorDefinedRequestCodec,
  [C.SPDM_VENDOR_DEFINED_RESPONSE]: vendorDefinedResponseCodec,
};
