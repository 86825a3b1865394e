/**
 * teeio's crypto layer: algorithm suites over node:crypto, the SPDM signing format, the
 * session key schedule, and device certificates (build, load, verify).
 */
export {
  AEAD_IV_SIZE,
  AEAD_KEY_SIZE,
  AEAD_TAG_SIZE,
  type AeadAlg,
  aeadOpen,
  aeadSeal,
  sequenceNonce,
} from './aead.ts';
export {
  ASYM_INFO,
  type AsymAlg,
  asymAlgsForKey,
  asymSign,
  asymVerify,
  generateSigningKeyPair,
  keyMatchesAsym,
  type SigningKeyPair,
} from './asym.ts';
export {
  type CertifiedKey,
  type DeviceIdentity,
  type DeviceIdentityOptions,
  generateDeviceIdentity,
  issueCertificate,
  type PcieIdentity,
  pcieCmaName,
} from './cert-build.ts';
export { buildCertChain, certChainDigest, decodeCertChain } from './cert-chain.ts';
export {
  loadCertificates,
  loadPrivateKey,
  parseCertificates,
  parsePrivateKey,
} from './cert-load.ts';
export { DMTF_OID, PCISIG_CMA_OID } from './cert-oids.ts';
export {
  type CertVerifyFailure,
  type CertVerifyOptions,
  type CertVerifyResult,
  certificateExtensions,
  type LeafRequirements,
  subjectAltOtherNames,
  verifyCertChain,
  verifyCertificates,
} from './cert-verify.ts';
export {
  type DheGroup,
  type DheKeyPair,
  dheExchangeSize,
  dheGenerate,
  dheSharedSecret,
} from './dhe.ts';
export { ecKeyPairFromScalar, ecScalarFromRandom } from './ec.ts';
export { CryptoError, type CryptoErrorReason, isCryptoError, wipe } from './errors.ts';
export {
  digest,
  HASH_SIZE,
  type HashAlg,
  hashSize,
  type RunningHash,
  runningHash,
} from './hash.ts';
export { hkdfExpand, hkdfExtract, hmac } from './kdf.ts';
export {
  binStr,
  type DataSecrets,
  type DirectionSecrets,
  deriveDataSecrets,
  deriveFinishedKey,
  deriveHandshakeSecrets,
  deriveTrafficKeys,
  type HandshakeSecrets,
  type KeyScheduleParams,
  scheduleParams,
  type TrafficKeys,
  updateDirection,
  updateTrafficSecret,
  verifyData,
  wipeSecrets,
} from './key-schedule.ts';
export {
  type DrbgState,
  defaultRandom,
  HmacDrbg,
  isSeededRandom,
  type RandomSource,
  REPLAY_EPOCH_MS,
  randomFromState,
  type SeededRandom,
  seededRandom,
} from './random.ts';
export {
  SPDM_SIGNING_CONTEXT,
  type SpdmSignParams,
  signingBlock,
  spdmSign,
  spdmSignHash,
  spdmVerify,
  spdmVerifyHash,
} from './signing.ts';
export {
  type AlgorithmSuite,
  SPDM_BIT,
  type SpdmAlgorithmSelection,
  SUPPORTED_SPDM_ALGORITHMS,
  type SuiteSizes,
  suiteFromSpdm,
} from './suite.ts';
