/**
 * Configuration of the SPDM engines (DSP0274 1.0-1.3): what an endpoint offers in
 * VERSION / CAPABILITIES / ALGORITHMS, who it is (certificate chain and key per slot),
 * what it measures, and where its randomness and trace events go.
 *
 * Algorithm preferences are SPDM bits in priority order (first = most preferred); the
 * mask an endpoint advertises is their OR. Defaults follow spdm-emu's: SPDM 1.0-1.3,
 * P-384 / SHA-384 / secp384r1 / AES-256-GCM preferred, P-256 / SHA-256 / AES-128-GCM /
 * ChaCha20-Poly1305 also accepted.
 */
import type { KeyObject } from 'node:crypto';
import { defaultRandom, type RandomSource } from '../crypto/random.ts';
import {
  SPDM_AEAD,
  SPDM_ASYM,
  SPDM_CAP,
  SPDM_DHE,
  SPDM_DMTF_MEAS_TYPE,
  SPDM_HASH,
  SPDM_KEY_SCHEDULE_SPDM,
  SPDM_MEAS_HASH,
  SPDM_MEASUREMENT_SPEC_DMTF,
  SPDM_OPAQUE_DATA_FMT_1,
  SPDM_VERSION_10,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
  SPDM_VERSION_13,
} from '../wire/spdm/constants.ts';
import type { SpdmEventSink } from './events.ts';
import type { SessionSecretsSink } from './keylog.ts';
import type { VendorRegistry } from './vendor.ts';

/** Algorithm choices as SPDM bits, each list in priority order. */
export interface AlgorithmPreferences {
  baseAsym: number[];
  baseHash: number[];
  /** MeasurementHashAlgo bits (RAW_BIT_STREAM_ONLY 0x1 allowed). */
  measurementHash: number[];
  dhe: number[];
  aead: number[];
  /** Requester signing algorithms (mutual authentication); empty = none. */
  reqBaseAsym: number[];
  /** KeySchedule bits (SPDM_KEY_SCHEDULE_SPDM). */
  keySchedule: number[];
  /** MeasurementSpecification bits (SPDM_MEASUREMENT_SPEC_DMTF). */
  measurementSpec: number;
  /** OtherParamsSupport opaque data format bits (1.2+; SPDM_OPAQUE_DATA_FMT_1). */
  opaqueDataFormat: number;
}

/** One certificate slot: the chain the endpoint serves and the key that signs for it. */
export interface SlotIdentity {
  /** DER certificates, root first and leaf last (what follows RootHash in the chain buffer). */
  certificates: Uint8Array[];
  /** The leaf's private key. */
  privateKey: KeyObject;
}

/** One DMTF measurement block a responder serves (DSP0274 "Measurement block format"). */
export interface MeasurementBlockConfig {
  /** Index 1..0xFE. */
  index: number;
  /** DMTFSpecMeasurementValueType bits 6:0 (SPDM_DMTF_MEAS_TYPE). */
  valueType: number;
  /** The raw measurement (the "raw bit stream"). */
  value: Uint8Array;
  /**
   * Serve it as the raw bit stream even when a digest is asked for (values such as a
   * version string or an SVN that are never hashed). Default false.
   */
  alwaysRaw?: boolean;
  /** Part of the TCB measurement summary hash. Default: IMMUTABLE_ROM blocks. */
  tcb?: boolean;
}

/** A pre-shared key the responder knows, by its hint (PSK_EXCHANGE). */
export interface PskEntry {
  hint: Uint8Array;
  psk: Uint8Array;
}

/** What both engines share. */
export interface EndpointConfig {
  /** SPDMVersion bytes the endpoint speaks (0x10..0x13). */
  versions: number[];
  /** CAPABILITIES Flags (SPDM_CAP bits). */
  capabilities: number;
  ctExponent: number;
  /** DataTransferSize (1.2+): the largest message this endpoint receives in one piece. */
  dataTransferSize: number;
  /** MaxSPDMmsgSize (1.2+). */
  maxSpdmMsgSize: number;
  algorithms: AlgorithmPreferences;
  /** Certificate slots (index = slot id). */
  slots: (SlotIdentity | undefined)[];
  /** DSP0277 secured-message versions, u16 as on the wire (1.1 = 0x1100), priority order. */
  securedMessageVersions: number[];
  /** Nonces, randoms, session ids and ephemeral keys. */
  random: RandomSource;
  /** Trace hook. */
  onEvent?: SpdmEventSink;
  /**
   * Key log export (keylog.ts), an explicit opt-in: receives each session's secrets when
   * they are derived. Never set it outside tools that write a key log on request.
   */
  onSessionSecrets?: SessionSecretsSink;
  /** An id of this SPDM connection, carried in events and vendor contexts. */
  connectionId: number;
}

export interface ResponderConfig extends EndpointConfig {
  measurements: MeasurementBlockConfig[];
  /**
   * HeartbeatPeriod in KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP Param1 (seconds, 0 = none; sent
   * when both sides set HBEAT_CAP). A session idle for twice the period is ended.
   */
  heartbeatPeriod: number;
  /** The clock of the heartbeat watchdog, in ms (default Date.now). */
  now: () => number;
  /** Pre-shared keys for PSK_EXCHANGE. */
  psk: PskEntry[];
  /** Vendor-defined protocols (IDE_KM, TDISP, ...). */
  vendor?: VendorRegistry;
  /**
   * MCTP only: answer PLDM (DSP0240 Control and Discovery) in secured sessions as a PLDM
   * terminus with this TID. Absent: PLDM is an application no one here serves.
   */
  pldm?: PldmTerminusConfig;
  /** Most sessions open at once (SessionLimitExceeded beyond). */
  maxSessions: number;
  /** Opaque data appended to MEASUREMENTS / CHALLENGE_AUTH (empty by default). */
  opaqueData?: Uint8Array;
  /**
   * Seeded flaws of the responder (world/flaws.ts, component 'spdm'); none by default.
   * 'responder-psk-finish-in-key-exchange': PSK_FINISH completes a KEY_EXCHANGE session.
   */
  flaws?: readonly ResponderFlaw[];
}

/** The responder's seeded flaws (the names world/flaws.ts gives them). */
export type ResponderFlaw = 'responder-psk-finish-in-key-exchange';

/** The PLDM terminus behind an MCTP responder. */
export interface PldmTerminusConfig {
  /** What GetTID answers (DSP0240: 0x00 unassigned, 0xFF reserved). */
  tid: number;
}

/** spdm-emu's responder answers GetTID with TID 1. */
export const DEFAULT_PLDM_TID = 1;

export interface RequesterConfig extends EndpointConfig {
  /** DER root certificates a responder's chain must end in. */
  trustAnchors: Uint8Array[];
}

/** Every SPDM algorithm bit teeio implements, in the order it prefers them. */
export const DEFAULT_ALGORITHMS: AlgorithmPreferences = {
  baseAsym: [
    SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P384,
    SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P256,
    SPDM_ASYM.TPM_ALG_ECDSA_ECC_NIST_P521,
    SPDM_ASYM.TPM_ALG_RSAPSS_3072,
    SPDM_ASYM.TPM_ALG_RSASSA_3072,
    SPDM_ASYM.TPM_ALG_RSAPSS_2048,
    SPDM_ASYM.TPM_ALG_RSASSA_2048,
    SPDM_ASYM.TPM_ALG_RSAPSS_4096,
    SPDM_ASYM.TPM_ALG_RSASSA_4096,
  ],
  baseHash: [SPDM_HASH.TPM_ALG_SHA_384, SPDM_HASH.TPM_ALG_SHA_256, SPDM_HASH.TPM_ALG_SHA_512],
  measurementHash: [
    SPDM_MEAS_HASH.TPM_ALG_SHA_384,
    SPDM_MEAS_HASH.TPM_ALG_SHA_256,
    SPDM_MEAS_HASH.TPM_ALG_SHA_512,
  ],
  dhe: [SPDM_DHE.SECP_384_R1, SPDM_DHE.SECP_256_R1, SPDM_DHE.SECP_521_R1],
  aead: [SPDM_AEAD.AES_256_GCM, SPDM_AEAD.AES_128_GCM, SPDM_AEAD.CHACHA20_POLY1305],
  reqBaseAsym: [],
  keySchedule: [SPDM_KEY_SCHEDULE_SPDM],
  measurementSpec: SPDM_MEASUREMENT_SPEC_DMTF,
  opaqueDataFormat: SPDM_OPAQUE_DATA_FMT_1,
};

/**
 * The capabilities a teeio responder advertises by default (no mutual auth, no chunking).
 * PSK_CAP is added ("with context", as libspdm's sample) only when PSKs are configured.
 */
export const DEFAULT_RESPONDER_CAPABILITIES =
  SPDM_CAP.CERT_CAP |
  SPDM_CAP.CHAL_CAP |
  SPDM_CAP.MEAS_CAP_SIG |
  SPDM_CAP.MEAS_FRESH_CAP |
  SPDM_CAP.ENCRYPT_CAP |
  SPDM_CAP.MAC_CAP |
  SPDM_CAP.KEY_EX_CAP |
  SPDM_CAP.HBEAT_CAP |
  SPDM_CAP.KEY_UPD_CAP;

/** The capabilities a teeio requester advertises by default. */
export const DEFAULT_REQUESTER_CAPABILITIES =
  SPDM_CAP.CERT_CAP |
  SPDM_CAP.CHAL_CAP |
  SPDM_CAP.ENCRYPT_CAP |
  SPDM_CAP.MAC_CAP |
  SPDM_CAP.KEY_EX_CAP |
  SPDM_CAP.PSK_CAP_RESPONDER | // bit 10 is PSK_CAP for a requester
  SPDM_CAP.HBEAT_CAP |
  SPDM_CAP.KEY_UPD_CAP;

/** libspdm's default buffer sizes (LIBSPDM_DATA_TRANSFER_SIZE / LIBSPDM_MAX_SPDM_MSG_SIZE). */
export const DEFAULT_DATA_TRANSFER_SIZE = 0x1200;
export const DEFAULT_MAX_SPDM_MSG_SIZE = 0x1200;
/** DSP0277 versions as SecuredMessageVersion u16 (major 15:12, minor 11:8). */
export const SECURED_MESSAGE_VERSION_10 = 0x1000;
export const SECURED_MESSAGE_VERSION_11 = 0x1100;
export const SECURED_MESSAGE_VERSION_12 = 0x1200;
/** spdm-emu's responder HeartbeatPeriod (0xF0 seconds), which libspdm's requester needs to send HEARTBEAT. */
export const DEFAULT_HEARTBEAT_PERIOD = 240;
/** DSP0274: DataTransferSize may not be below MinDataTransferSize (42 bytes). */
export const SPDM_MIN_DATA_TRANSFER_SIZE = 42;

/** A few measurement blocks in the shape of spdm-emu's sample device. */
export function sampleMeasurements(): MeasurementBlockConfig[] {
  const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
  return [
    { index: 1, valueType: SPDM_DMTF_MEAS_TYPE.IMMUTABLE_ROM, value: fill(48, 1) },
    { index: 2, valueType: SPDM_DMTF_MEAS_TYPE.MUTABLE_FIRMWARE, value: fill(48, 2) },
    { index: 3, valueType: SPDM_DMTF_MEAS_TYPE.HARDWARE_CONFIG, value: fill(48, 3) },
    { index: 4, valueType: SPDM_DMTF_MEAS_TYPE.FIRMWARE_CONFIG, value: fill(48, 4) },
    {
      index: 5,
      valueType: SPDM_DMTF_MEAS_TYPE.VERSION,
      value: new Uint8Array(Buffer.from('teeio-1.0', 'ascii')),
      alwaysRaw: true,
    },
  ];
}

function endpointDefaults(): Omit<EndpointConfig, 'capabilities'> {
  return {
    versions: [SPDM_VERSION_10, SPDM_VERSION_11, SPDM_VERSION_12, SPDM_VERSION_13],
    ctExponent: 0,
    dataTransferSize: DEFAULT_DATA_TRANSFER_SIZE,
    maxSpdmMsgSize: DEFAULT_MAX_SPDM_MSG_SIZE,
    algorithms: DEFAULT_ALGORITHMS,
    slots: [],
    // libspdm's list; a responder picks the first of its own the requester offers.
    securedMessageVersions: [
      SECURED_MESSAGE_VERSION_12,
      SECURED_MESSAGE_VERSION_11,
      SECURED_MESSAGE_VERSION_10,
    ],
    random: defaultRandom,
    connectionId: 0,
  };
}

/**
 * A complete responder configuration from the fields given; the rest take the defaults
 * above.
 * @throws RangeError when a field cannot work (no versions, DataTransferSize below 42,
 *   a slot without certificates, a measurement index outside 1..0xFE, a HeartbeatPeriod
 *   outside 0..255, a PLDM TID outside 0..0xFE).
 */
export function responderConfig(p: Partial<ResponderConfig> = {}): ResponderConfig {
  const c: ResponderConfig = {
    ...endpointDefaults(),
    capabilities:
      DEFAULT_RESPONDER_CAPABILITIES |
      (p.psk?.length ? SPDM_CAP.PSK_CAP_RESPONDER_WITH_CONTEXT : 0),
    measurements: sampleMeasurements(),
    heartbeatPeriod: DEFAULT_HEARTBEAT_PERIOD,
    now: Date.now,
    psk: [],
    maxSessions: 4,
    pldm: { tid: DEFAULT_PLDM_TID },
    ...p,
  };
  checkEndpoint(c);
  if (!Number.isInteger(c.heartbeatPeriod) || c.heartbeatPeriod < 0 || c.heartbeatPeriod > 0xff) {
    throw new RangeError(`config: HeartbeatPeriod ${c.heartbeatPeriod} is not 0..255 seconds`);
  }
  if (c.pldm && (!Number.isInteger(c.pldm.tid) || c.pldm.tid < 0 || c.pldm.tid > 0xfe)) {
    throw new RangeError(`config: PLDM TID ${c.pldm.tid} is not 0..0xFE`);
  }
  for (const m of c.measurements) {
    if (!Number.isInteger(m.index) || m.index < 1 || m.index > 0xfe) {
      throw new RangeError(`measurement index ${m.index} is not in 1..0xFE`);
    }
  }
  return c;
}

/** A complete requester configuration. @throws RangeError as responderConfig. */
export function requesterConfig(p: Partial<RequesterConfig> = {}): RequesterConfig {
  const c: RequesterConfig = {
    ...endpointDefaults(),
    capabilities: DEFAULT_REQUESTER_CAPABILITIES,
    trustAnchors: [],
    ...p,
  };
  checkEndpoint(c);
  return c;
}

function checkEndpoint(c: EndpointConfig): void {
  if (c.versions.length === 0) throw new RangeError('config: no SPDM versions');
  for (const v of c.versions) {
    if (v < SPDM_VERSION_10 || v > SPDM_VERSION_13) {
      throw new RangeError(`config: SPDM version 0x${v.toString(16)} is not 1.0..1.3`);
    }
  }
  if (c.dataTransferSize < SPDM_MIN_DATA_TRANSFER_SIZE) {
    throw new RangeError(`config: DataTransferSize ${c.dataTransferSize} is below 42`);
  }
  if (c.maxSpdmMsgSize < c.dataTransferSize) {
    throw new RangeError('config: MaxSPDMmsgSize is below DataTransferSize');
  }
  c.slots.forEach((s, i) => {
    if (s && s.certificates.length === 0) throw new RangeError(`config: slot ${i} has no certs`);
  });
  if (c.slots.length > 8) throw new RangeError('config: SPDM has 8 certificate slots');
}

/** OR of a preference list: the mask an endpoint advertises. */
export function preferenceMask(bits: readonly number[]): number {
  let m = 0;
  for (const b of bits) m = (m | b) >>> 0;
  return m;
}

/** The first preferred bit the peer also offers (0 when none): libspdm's priority pick. */
export function pickPreferred(preferred: readonly number[], peerMask: number): number {
  for (const b of preferred) if ((peerMask & b) >>> 0 === b) return b;
  return 0;
}

/** The highest version both sides speak (0 when none). */
export function commonVersion(ours: readonly number[], theirs: readonly number[]): number {
  let best = 0;
  for (const v of ours) if (theirs.includes(v) && v > best) best = v;
  return best;
}
