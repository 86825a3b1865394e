/**
 * Definitions from DMTF DSP0274 (SPDM) 1.0-1.3 under their spec names.
 * Kept apart from logic, as libspdm's include/industry_standard/spdm.h does.
 */

// SPDMVersion byte values (major << 4 | minor).
export const SPDM_VERSION_10 = 0x10;
export const SPDM_VERSION_11 = 0x11;
export const SPDM_VERSION_12 = 0x12;
export const SPDM_VERSION_13 = 0x13;
export const SPDM_VERSION_14 = 0x14;

// Request codes.
export const SPDM_GET_DIGESTS = 0x81;
export const SPDM_GET_CERTIFICATE = 0x82;
export const SPDM_CHALLENGE = 0x83;
export const SPDM_GET_VERSION = 0x84;
export const SPDM_GET_MEASUREMENTS = 0xe0;
export const SPDM_GET_CAPABILITIES = 0xe1;
export const SPDM_NEGOTIATE_ALGORITHMS = 0xe3;
export const SPDM_KEY_EXCHANGE = 0xe4;
export const SPDM_FINISH = 0xe5;
export const SPDM_PSK_EXCHANGE = 0xe6;
export const SPDM_PSK_FINISH = 0xe7;
export const SPDM_HEARTBEAT = 0xe8;
export const SPDM_KEY_UPDATE = 0xe9;
export const SPDM_END_SESSION = 0xec;
export const SPDM_VENDOR_DEFINED_REQUEST = 0xfe;
export const SPDM_RESPOND_IF_READY = 0xff;

// Response codes.
export const SPDM_DIGESTS = 0x01;
export const SPDM_CERTIFICATE = 0x02;
export const SPDM_CHALLENGE_AUTH = 0x03;
export const SPDM_VERSION = 0x04;
export const SPDM_MEASUREMENTS = 0x60;
export const SPDM_CAPABILITIES = 0x61;
export const SPDM_ALGORITHMS = 0x63;
export const SPDM_KEY_EXCHANGE_RSP = 0x64;
export const SPDM_FINISH_RSP = 0x65;
export const SPDM_PSK_EXCHANGE_RSP = 0x66;
export const SPDM_PSK_FINISH_RSP = 0x67;
export const SPDM_HEARTBEAT_ACK = 0x68;
export const SPDM_KEY_UPDATE_ACK = 0x69;
export const SPDM_END_SESSION_ACK = 0x6c;
export const SPDM_VENDOR_DEFINED_RESPONSE = 0x7e;
export const SPDM_ERROR = 0x7f;

export const SPDM_CODE_NAMES: Readonly<Record<number, string>> = {
  [SPDM_GET_DIGESTS]: 'GET_DIGESTS',
  [SPDM_GET_CERTIFICATE]: 'GET_CERTIFICATE',
  [SPDM_CHALLENGE]: 'CHALLENGE',
  [SPDM_GET_VERSION]: 'GET_VERSION',
  [SPDM_GET_MEASUREMENTS]: 'GET_MEASUREMENTS',
  [SPDM_GET_CAPABILITIES]: 'GET_CAPABILITIES',
  [SPDM_NEGOTIATE_ALGORITHMS]: 'NEGOTIATE_ALGORITHMS',
  [SPDM_KEY_EXCHANGE]: 'KEY_EXCHANGE',
  [SPDM_FINISH]: 'FINISH',
  [SPDM_PSK_EXCHANGE]: 'PSK_EXCHANGE',
  [SPDM_PSK_FINISH]: 'PSK_FINISH',
  [SPDM_HEARTBEAT]: 'HEARTBEAT',
  [SPDM_KEY_UPDATE]: 'KEY_UPDATE',
  [SPDM_END_SESSION]: 'END_SESSION',
  [SPDM_VENDOR_DEFINED_REQUEST]: 'VENDOR_DEFINED_REQUEST',
  [SPDM_RESPOND_IF_READY]: 'RESPOND_IF_READY',
  [SPDM_DIGESTS]: 'DIGESTS',
  [SPDM_CERTIFICATE]: 'CERTIFICATE',
  [SPDM_CHALLENGE_AUTH]: 'CHALLENGE_AUTH',
  [SPDM_VERSION]: 'VERSION',
  [SPDM_MEASUREMENTS]: 'MEASUREMENTS',
  [SPDM_CAPABILITIES]: 'CAPABILITIES',
  [SPDM_ALGORITHMS]: 'ALGORITHMS',
  [SPDM_KEY_EXCHANGE_RSP]: 'KEY_EXCHANGE_RSP',
  [SPDM_FINISH_RSP]: 'FINISH_RSP',
  [SPDM_PSK_EXCHANGE_RSP]: 'PSK_EXCHANGE_RSP',
  [SPDM_PSK_FINISH_RSP]: 'PSK_FINISH_RSP',
  [SPDM_HEARTBEAT_ACK]: 'HEARTBEAT_ACK',
  [SPDM_KEY_UPDATE_ACK]: 'KEY_UPDATE_ACK',
  [SPDM_END_SESSION_ACK]: 'END_SESSION_ACK',
  [SPDM_VENDOR_DEFINED_RESPONSE]: 'VENDOR_DEFINED_RESPONSE',
  [SPDM_ERROR]: 'ERROR',
};

export function spdmCodeName(code: number | undefined): string {
  // A message too short to hold a code (byte 1) has none: name that, do not throw.
  if (code === undefined || !Number.isInteger(code)) return 'NO_CODE';
  return SPDM_CODE_NAMES[code] ?? `UNKNOWN(0x${code.toString(16).padStart(2, '0')})`;
}

// CAPABILITIES Flags (DSP0274 table "Flag fields definitions for the Responder").
export const SPDM_CAP = {
  CACHE_CAP: 0x1,
  CERT_CAP: 0x2,
  CHAL_CAP: 0x4,
  MEAS_CAP_NO_SIG: 0x8,
  MEAS_CAP_SIG: 0x10,
  MEAS_FRESH_CAP: 0x20,
  ENCRYPT_CAP: 0x40,
  MAC_CAP: 0x80,
  MUT_AUTH_CAP: 0x100,
  KEY_EX_CAP: 0x200,
  PSK_CAP_RESPONDER: 0x400,
  PSK_CAP_RESPONDER_WITH_CONTEXT: 0x800,
  ENCAP_CAP: 0x1000,
  HBEAT_CAP: 0x2000,
  KEY_UPD_CAP: 0x4000,
  HANDSHAKE_IN_THE_CLEAR_CAP: 0x8000,
  PUB_KEY_ID_CAP: 0x10000,
  CHUNK_CAP: 0x20000,
  ALIAS_CERT_CAP: 0x40000,
  SET_CERT_CAP: 0x80000,
  CSR_CAP: 0x100000,
  CERT_INSTALL_RESET_CAP: 0x200000,
  EP_INFO_CAP_NO_SIG: 0x400000,
  EP_INFO_CAP_SIG: 0x800000,
  MEL_CAP: 0x1000000,
  EVENT_CAP: 0x2000000,
  MULTI_KEY_CAP_ONLY: 0x4000000,
  MULTI_KEY_CAP_NEG: 0x8000000,
  GET_KEY_PAIR_INFO_CAP: 0x10000000,
  SET_KEY_PAIR_INFO_CAP: 0x20000000,
  SET_KEY_PAIR_RESET_CAP: 0x40000000,
  LARGE_RESP_CAP: 0x80000000,
} as const;
export type SpdmCapName = keyof typeof SPDM_CAP;

// BaseAsymAlgo.
export const SPDM_ASYM = {
  TPM_ALG_RSASSA_2048: 0x1,
  TPM_ALG_RSAPSS_2048: 0x2,
  TPM_ALG_RSASSA_3072: 0x4,
  TPM_ALG_RSAPSS_3072: 0x8,
  TPM_ALG_ECDSA_ECC_NIST_P256: 0x10,
  TPM_ALG_RSASSA_4096: 0x20,
  TPM_ALG_RSAPSS_4096: 0x40,
  TPM_ALG_ECDSA_ECC_NIST_P384: 0x80,
  TPM_ALG_ECDSA_ECC_NIST_P521: 0x100,
  TPM_ALG_SM2_ECC_SM2_P256: 0x200,
  EDDSA_ED25519: 0x400,
  EDDSA_ED448: 0x800,
} as const;

// BaseHashAlgo.
export const SPDM_HASH = {
  TPM_ALG_SHA_256: 0x1,
  TPM_ALG_SHA_384: 0x2,
  TPM_ALG_SHA_512: 0x4,
  TPM_ALG_SHA3_256: 0x8,
  TPM_ALG_SHA3_384: 0x10,
  TPM_ALG_SHA3_512: 0x20,
  TPM_ALG_SM3_256: 0x40,
} as const;

// MeasurementHashAlgo.
export const SPDM_MEAS_HASH = {
  RAW_BIT_STREAM_ONLY: 0x1,
  TPM_ALG_SHA_256: 0x2,
  TPM_ALG_SHA_384: 0x4,
  TPM_ALG_SHA_512: 0x8,
  TPM_ALG_SHA3_256: 0x10,
  TPM_ALG_SHA3_384: 0x20,
  TPM_ALG_SHA3_512: 0x40,
  TPM_ALG_SM3_256: 0x80,
} as const;

// Struct table AlgType values and their supported bits.
export const SPDM_ALG_TYPE_DHE = 2;
export const SPDM_ALG_TYPE_AEAD = 3;
export const SPDM_ALG_TYPE_REQ_BASE_ASYM = 4;
export const SPDM_ALG_TYPE_KEY_SCHEDULE = 5;

export const SPDM_DHE = {
  FFDHE_2048: 0x1,
  FFDHE_3072: 0x2,
  FFDHE_4096: 0x4,
  SECP_256_R1: 0x8,
  SECP_384_R1: 0x10,
  SECP_521_R1: 0x20,
  SM2_P256: 0x40,
} as const;

export const SPDM_AEAD = {
  AES_128_GCM: 0x1,
  AES_256_GCM: 0x2,
  CHACHA20_POLY1305: 0x4,
  AEAD_SM4_GCM: 0x8,
} as const;

export const SPDM_KEY_SCHEDULE_SPDM = 0x1;
export const SPDM_MEASUREMENT_SPEC_DMTF = 0x1;
export const SPDM_OPAQUE_DATA_FMT_0 = 0x1;
export const SPDM_OPAQUE_DATA_FMT_1 = 0x2;

// ERROR codes.
export const SPDM_ERROR_CODE = {
  InvalidRequest: 0x01,
  Busy: 0x03,
  UnexpectedRequest: 0x04,
  Unspecified: 0x05,
  DecryptError: 0x06,
  UnsupportedRequest: 0x07,
  RequestInFlight: 0x08,
  InvalidResponseCode: 0x09,
  SessionLimitExceeded: 0x0a,
  SessionRequired: 0x0b,
  ResetRequired: 0x0c,
  ResponseTooLarge: 0x0d,
  RequestTooLarge: 0x0e,
  LargeResponse: 0x0f,
  MessageLost: 0x10,
  InvalidPolicy: 0x11,
  VersionMismatch: 0x41,
  ResponseNotReady: 0x42,
  RequestResynch: 0x43,
  OperationFailed: 0x44,
  VendorDefined: 0xff,
} as const;
export type SpdmErrorName = keyof typeof SPDM_ERROR_CODE;

export function spdmErrorName(code: number): string {
  for (const [k, v] of Object.entries(SPDM_ERROR_CODE)) if (v === code) return k;
  return `Reserved(0x${code.toString(16)})`;
}

// Measurement summary hash type (CHALLENGE param2, KEY_EXCHANGE param1).
export const SPDM_MEAS_SUMMARY_NONE = 0x00;
export const SPDM_MEAS_SUMMARY_TCB = 0x01;
export const SPDM_MEAS_SUMMARY_ALL = 0xff;

// GET_MEASUREMENTS request attributes (param1) and operations (param2).
export const SPDM_MEAS_ATTR_SIGNATURE_REQUESTED = 0x1;
export const SPDM_MEAS_ATTR_RAW_BIT_STREAM_REQUESTED = 0x2;
export const SPDM_MEAS_ATTR_NEW_MEASUREMENT_REQUESTED = 0x4;
export const SPDM_MEAS_OP_TOTAL_NUMBER = 0x00;
export const SPDM_MEAS_OP_ALL = 0xff;

// DMTF measurement value types (DMTFSpecMeasurementValueType, bits 6:0; bit 7 raw).
export const SPDM_DMTF_MEAS_TYPE = {
  IMMUTABLE_ROM: 0,
  MUTABLE_FIRMWARE: 1,
  HARDWARE_CONFIG: 2,
  FIRMWARE_CONFIG: 3,
  MEASUREMENT_MANIFEST: 4,
  DEVICE_MODE: 5,
  VERSION: 6,
  SECURE_VERSION_NUMBER: 7,
} as const;
export const SPDM_DMTF_MEAS_RAW_BIT_STREAM = 0x80;

export const SPDM_NONCE_SIZE = 32;
export const SPDM_RANDOM_SIZE = 32;
export const SPDM_REQ_CONTEXT_SIZE = 8;

// KEY_UPDATE operations.
export const SPDM_KEY_UPDATE_OP = { UpdateKey: 1, UpdateAllKeys: 2, VerifyNewKey: 3 } as const;

// KEY_EXCHANGE / PSK_EXCHANGE SessionPolicy bits (1.2+; the byte is reserved in 1.1).
export const SPDM_SESSION_POLICY = {
  TerminationPolicyRuntimeUpdate: 0x01,
  EventAllPolicy: 0x02,
} as const;
// KEY_EXCHANGE_RSP MutAuthRequested bits.
export const SPDM_MUT_AUTH_REQUESTED = {
  MutAuthRequested: 0x01,
  WithEncapRequest: 0x02,
  WithGetDigests: 0x04,
} as const;
// FINISH param1 (request attributes) bit 0: Signature field present.
export const SPDM_FINISH_SIGNATURE_INCLUDED = 0x01;
// END_SESSION param1 (request attributes) bit 0: Negotiated State Preservation Indicator;
// set = the Responder clears (does not cache) the negotiated state.
export const SPDM_END_SESSION_PRESERVE_NEGOTIATED_STATE_CLEAR = 0x01;

// Registry / standards body ids (StandardID of VENDOR_DEFINED, ID of opaque elements).
export const SPDM_REGISTRY_ID_DMTF = 0x0000;

// PCI-SIG vendor-defined registry (StandardID) and protocol ids.
export const SPDM_REGISTRY_ID_PCISIG = 0x0003;
export const PCISIG_VENDOR_ID = 0x0001;
export const PCI_PROTOCOL_ID_IDE_KM = 0x00;
export const PCI_PROTOCOL_ID_TDISP = 0x01;

// GET_CAPABILITIES Param1 bit 0 (1.3): ask for the Supported Algorithms block in CAPABILITIES.
export const SPDM_GET_CAPABILITIES_PARAM1_SUPPORTED_ALGORITHMS = 0x01;
// NEGOTIATE_ALGORITHMS OtherParamsSupport / ALGORITHMS OtherParamsSelection bit 4 (1.3).
export const SPDM_ALGORITHMS_MULTI_KEY_CONN = 0x10;
export const SPDM_MEL_SPECIFICATION_DMTF = 0x01;

// GET_CERTIFICATE Param2 bit 0 (1.3): report the slot size only.
export const SPDM_GET_CERTIFICATE_SLOT_SIZE_REQUESTED = 0x01;
// CertificateInfo (CERTIFICATE Param2, DIGESTS 1.3 multi-key array) bits 2:0: CertModel.
export const SPDM_CERTIFICATE_INFO_CERT_MODEL_MASK = 0x07;
export const SPDM_CERT_MODEL = { NONE: 0, DEVICE_CERT: 1, ALIAS_CERT: 2, GENERIC_CERT: 3 } as const;
// KeyUsageMask (DIGESTS 1.3 multi-key array).
export const SPDM_KEY_USAGE = {
  KEY_EX_USE: 0x0001,
  CHALLENGE_USE: 0x0002,
  MEASUREMENT_USE: 0x0004,
  ENDPOINT_INFO_USE: 0x0008,
  STANDARDS_KEY_USE: 0x4000,
  VENDOR_KEY_USE: 0x8000,
} as const;

// CHALLENGE_AUTH Param1 bit 7 (1.1; deprecated in 1.2): BasicMutAuthReq.
export const SPDM_CHALLENGE_AUTH_BASIC_MUT_AUTH_REQ = 0x80;
// OpaqueLength shall not exceed 1024 bytes (CHALLENGE_AUTH, MEASUREMENTS, ...).
export const SPDM_MAX_OPAQUE_DATA_SIZE = 1024;

// MEASUREMENTS Param2 bits 5:4 (1.2): content changed.
export const SPDM_MEAS_CONTENT_CHANGE = { NO_DETECTION: 0, DETECTED: 1, NO_CHANGE: 2 } as const;
// Further DMTF measurement value types (1.2/1.3) beside SPDM_DMTF_MEAS_TYPE.
export const SPDM_DMTF_MEAS_TYPE_HASH_EXTEND_MEASUREMENT = 8;
export const SPDM_DMTF_MEAS_TYPE_INFORMATIONAL = 9;
export const SPDM_DMTF_MEAS_TYPE_STRUCTURED_MEASUREMENT_MANIFEST = 10;

// ERROR: ExtendedErrorData is at most 32 bytes.
export const SPDM_EXTENDED_ERROR_DATA_MAX_SIZE = 32;
