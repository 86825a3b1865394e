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
import { errorCodec } from './error.ts';
import { getMeasurementsCodec, measurementsCodec } from './measurements.ts';
import { respondIfReadyCodec } from './respond-if-ready.ts';
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
};
