/**
 * Which CAPABILITIES Flags combinations DSP0274 allows (1.3 section 10.4, tables "Flag
 * fields definitions for the Requester" and "... for the Responder"; 1.1 and 1.2 tables of
 * the same name), and the 1.2+ DataTransferSize / MaxSPDMmsgSize rules. One table for both
 * directions: the responder applies the requester rules to GET_CAPABILITIES (InvalidRequest
 * when one is broken), the requester applies the responder rules to CAPABILITIES
 * (SpdmVerifyError). A rule names the roles it constrains, so a rule the two tables share
 * is written once.
 */
import {
  SPDM_CAP,
  SPDM_VERSION_10,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
  SPDM_VERSION_13,
} from '../wire/spdm/constants.ts';
import { SPDM_MIN_DATA_TRANSFER_SIZE } from './config.ts';

export type CapabilityRole = 'requester' | 'responder';

/** The Flags fields a rule reads: single bits as 0/1, two-bit fields as 0..3. */
export interface CapabilityFields {
  cert: number;
  chal: number;
  meas: number;
  measFresh: number;
  encrypt: number;
  mac: number;
  mutAuth: number;
  keyEx: number;
  psk: number;
  encap: number;
  hbeat: number;
  keyUpd: number;
  handshakeInTheClear: number;
  pubKeyId: number;
  chunk: number;
  aliasCert: number;
  setCert: number;
  csr: number;
  certInstallReset: number;
  epInfo: number;
  event: number;
  multiKey: number;
  getKeyPairInfo: number;
  setKeyPairInfo: number;
}

/** The Flags word split into the fields of the DSP0274 tables. */
export function capabilityFields(flags: number): CapabilityFields {
  const bit = (mask: number) => ((flags & mask) !== 0 ? 1 : 0);
  const two = (shift: number) => (flags >>> shift) & 3;
  return {
    cert: bit(SPDM_CAP.CERT_CAP),
    chal: bit(SPDM_CAP.CHAL_CAP),
    meas: two(3),
    measFresh: bit(SPDM_CAP.MEAS_FRESH_CAP),
    encrypt: bit(SPDM_CAP.ENCRYPT_CAP),
    mac: bit(SPDM_CAP.MAC_CAP),
    mutAuth: bit(SPDM_CAP.MUT_AUTH_CAP),
    keyEx: bit(SPDM_CAP.KEY_EX_CAP),
    psk: two(10),
    encap: bit(SPDM_CAP.ENCAP_CAP),
    hbeat: bit(SPDM_CAP.HBEAT_CAP),
    keyUpd: bit(SPDM_CAP.KEY_UPD_CAP),
    handshakeInTheClear: bit(SPDM_CAP.HANDSHAKE_IN_THE_CLEAR_CAP),
    pubKeyId: bit(SPDM_CAP.PUB_KEY_ID_CAP),
    chunk: bit(SPDM_CAP.CHUNK_CAP),
    aliasCert: bit(SPDM_CAP.ALIAS_CERT_CAP),
    setCert: bit(SPDM_CAP.SET_CERT_CAP),
    csr: bit(SPDM_CAP.CSR_CAP),
    certInstallReset: bit(SPDM_CAP.CERT_INSTALL_RESET_CAP),
    epInfo: two(22),
    event: bit(SPDM_CAP.EVENT_CAP),
    multiKey: two(26),
    getKeyPairInfo: bit(SPDM_CAP.GET_KEY_PAIR_INFO_CAP),
    setKeyPairInfo: bit(SPDM_CAP.SET_KEY_PAIR_INFO_CAP),
  };
}

export interface CapabilityRule {
  /** What DSP0274 demands, worded as the problem when it is broken. */
  problem: string;
  /** Whose Flags the rule constrains. */
  roles: readonly CapabilityRole[];
  /** SPDMVersion bytes the rule applies at (inclusive). */
  from: number;
  until?: number;
  /** True when `f` breaks the rule; `role` and `version` for rules that differ by them. */
  broken(f: CapabilityFields, role: CapabilityRole, version: number): boolean;
}

const BOTH: readonly CapabilityRole[] = ['requester', 'responder'];
const REQUESTER: readonly CapabilityRole[] = ['requester'];
const RESPONDER: readonly CapabilityRole[] = ['responder'];

const sessions = (f: CapabilityFields) => f.keyEx === 1 || f.psk !== 0;
/** A key that signs: CHAL_CAP, KEY_EX_CAP, signed MEAS_CAP (responder), EP_INFO_CAP 10b (1.3). */
const keyUsed = (f: CapabilityFields, role: CapabilityRole, version: number) =>
  f.chal === 1 ||
  f.keyEx === 1 ||
  (role === 'responder' && f.meas === 2) ||
  (version >= SPDM_VERSION_13 && f.epInfo === 2);

/** The rules, grouped as the tables' footnotes group them. */
export const CAPABILITY_RULES: readonly CapabilityRule[] = [
  // -- reserved values
  {
    problem: 'MEAS_CAP is the reserved value 11b',
    roles: RESPONDER,
    from: SPDM_VERSION_10,
    broken: (f) => f.meas === 3,
  },
  {
    problem: 'MEAS_FRESH_CAP without MEAS_CAP',
    roles: RESPONDER,
    from: SPDM_VERSION_10,
    broken: (f) => f.measFresh === 1 && f.meas === 0,
  },
  {
    problem: 'CERT_CAP and CHAL_CAP differ with unsigned measurements (1.0)',
    roles: RESPONDER,
    from: SPDM_VERSION_10,
    until: SPDM_VERSION_10,
    broken: (f) => f.meas < 2 && f.cert !== f.chal,
  },
  {
    problem: 'signed measurements (MEAS_CAP 10b) without CERT_CAP (1.0)',
    roles: RESPONDER,
    from: SPDM_VERSION_10,
    until: SPDM_VERSION_10,
    broken: (f) => f.meas === 2 && f.cert === 0,
  },
  {
    problem: 'PSK_CAP is the reserved value 11b',
    roles: RESPONDER,
    from: SPDM_VERSION_11,
    broken: (f) => f.psk === 3,
  },
  {
    problem: 'PSK_CAP 10b / 11b are reserved for a requester (its PSK_CAP is bit 10 alone)',
    roles: REQUESTER,
    from: SPDM_VERSION_11,
    broken: (f) => f.psk >= 2,
  },
  // -- session capabilities
  {
    problem: 'KEY_EX_CAP / PSK_CAP without ENCRYPT_CAP or MAC_CAP',
    roles: BOTH,
    from: SPDM_VERSION_11,
    broken: (f) => sessions(f) && f.encrypt === 0 && f.mac === 0,
  },
  {
    problem: 'ENCRYPT_CAP / MAC_CAP without KEY_EX_CAP or PSK_CAP',
    roles: BOTH,
    from: SPDM_VERSION_11,
    broken: (f) => !sessions(f) && (f.encrypt === 1 || f.mac === 1),
  },
  {
    problem: 'HBEAT_CAP / KEY_UPD_CAP without KEY_EX_CAP or PSK_CAP',
    roles: BOTH,
    from: SPDM_VERSION_11,
    broken: (f) => !sessions(f) && (f.hbeat === 1 || f.keyUpd === 1),
  },
  {
    problem: 'HANDSHAKE_IN_THE_CLEAR_CAP without KEY_EX_CAP',
    roles: BOTH,
    from: SPDM_VERSION_11,
    broken: (f) => f.handshakeInTheClear === 1 && f.keyEx === 0,
  },
  {
    problem: 'EVENT_CAP without KEY_EX_CAP or PSK_CAP',
    roles: BOTH,
    from: SPDM_VERSION_13,
    broken: (f) => !sessions(f) && f.event === 1,
  },
  // -- keys: certificates or a provisioned public key
  {
    problem: 'CERT_CAP and PUB_KEY_ID_CAP are exclusive',
    roles: BOTH,
    from: SPDM_VERSION_11,
    broken: (f) => f.cert === 1 && f.pubKeyId === 1,
  },
  {
    problem: 'CHAL_CAP / MUT_AUTH_CAP without CERT_CAP or PUB_KEY_ID_CAP',
    roles: BOTH,
    from: SPDM_VERSION_11,
    broken: (f) => f.cert === 0 && f.pubKeyId === 0 && (f.chal === 1 || f.mutAuth === 1),
  },
  {
    problem: 'KEY_EX_CAP / signed MEAS_CAP without CERT_CAP or PUB_KEY_ID_CAP',
    roles: RESPONDER,
    from: SPDM_VERSION_11,
    broken: (f) => f.cert === 0 && f.pubKeyId === 0 && (f.keyEx === 1 || f.meas === 2),
  },
  {
    problem: 'CERT_CAP / PUB_KEY_ID_CAP without anything that uses the key',
    roles: BOTH,
    from: SPDM_VERSION_11,
    broken: (f, role, version) => (f.cert === 1 || f.pubKeyId === 1) && !keyUsed(f, role, version),
  },
  {
    problem: 'EP_INFO_CAP 10b (signed) without CERT_CAP or PUB_KEY_ID_CAP',
    roles: BOTH,
    from: SPDM_VERSION_13,
    broken: (f) => f.cert === 0 && f.pubKeyId === 0 && f.epInfo === 2,
  },
  {
    problem: 'MUT_AUTH_CAP without KEY_EX_CAP or CHAL_CAP',
    roles: BOTH,
    from: SPDM_VERSION_11,
    broken: (f) => f.mutAuth === 1 && f.keyEx === 0 && f.chal === 0,
  },
  {
    problem: 'MUT_AUTH_CAP without ENCAP_CAP (1.1)',
    roles: BOTH,
    from: SPDM_VERSION_11,
    until: SPDM_VERSION_11,
    broken: (f) => f.mutAuth === 1 && f.encap === 0,
  },
  // -- certificate provisioning (1.2+)
  {
    problem: 'ALIAS_CERT_CAP / SET_CERT_CAP without CERT_CAP',
    roles: RESPONDER,
    from: SPDM_VERSION_12,
    broken: (f) => f.cert === 0 && (f.aliasCert === 1 || f.setCert === 1),
  },
  {
    problem: 'CSR_CAP without SET_CERT_CAP',
    roles: RESPONDER,
    from: SPDM_VERSION_12,
    broken: (f) => f.csr === 1 && f.setCert === 0,
  },
  {
    problem: 'CERT_INSTALL_RESET_CAP without CSR_CAP or SET_CERT_CAP',
    roles: RESPONDER,
    from: SPDM_VERSION_12,
    broken: (f) => f.certInstallReset === 1 && f.csr === 0 && f.setCert === 0,
  },
  // -- 1.3 fields
  {
    problem: 'EP_INFO_CAP is the reserved value 11b',
    roles: BOTH,
    from: SPDM_VERSION_13,
    broken: (f) => f.epInfo === 3,
  },
  {
    problem: 'MULTI_KEY_CAP is the reserved value 11b',
    roles: BOTH,
    from: SPDM_VERSION_13,
    broken: (f) => f.multiKey === 3,
  },
  {
    problem: 'MULTI_KEY_CAP without CERT_CAP, or with PUB_KEY_ID_CAP',
    roles: BOTH,
    from: SPDM_VERSION_13,
    broken: (f) => f.multiKey !== 0 && (f.cert === 0 || f.pubKeyId === 1),
  },
  {
    problem: 'MULTI_KEY_CAP without GET_KEY_PAIR_INFO_CAP',
    roles: RESPONDER,
    from: SPDM_VERSION_13,
    broken: (f) => f.multiKey !== 0 && f.getKeyPairInfo === 0,
  },
  {
    problem: 'PUB_KEY_ID_CAP with GET_KEY_PAIR_INFO_CAP / SET_KEY_PAIR_INFO_CAP',
    roles: RESPONDER,
    from: SPDM_VERSION_13,
    broken: (f) => f.pubKeyId === 1 && (f.getKeyPairInfo === 1 || f.setKeyPairInfo === 1),
  },
];

/**
 * The first rule `flags` of `role` break at `version`, or undefined when they are a
 * combination DSP0274 allows. 1.0 requesters send no Flags, so only responder rules apply.
 */
export function capabilityFlagsProblem(
  flags: number,
  role: CapabilityRole,
  version: number,
): string | undefined {
  const f = capabilityFields(flags >>> 0);
  for (const r of CAPABILITY_RULES) {
    if (!r.roles.includes(role) || version < r.from) continue;
    if (r.until !== undefined && version > r.until) continue;
    if (r.broken(f, role, version)) return r.problem;
  }
  return undefined;
}

/**
 * The 1.2+ buffer-size rules, the same for both roles: DataTransferSize at least 42 and at
 * most MaxSPDMmsgSize, and equal to it unless CHUNK_CAP is set (without chunking no
 * message can be larger than one transfer). Undefined when they hold or before 1.2.
 */
export function transferSizeProblem(
  flags: number,
  dataTransferSize: number,
  maxSpdmMsgSize: number,
  version: number,
): string | undefined {
  if (version < SPDM_VERSION_12) return undefined;
  const dts = dataTransferSize;
  const max = maxSpdmMsgSize;
  if (dts < SPDM_MIN_DATA_TRANSFER_SIZE) {
    return `DataTransferSize ${dts} is below ${SPDM_MIN_DATA_TRANSFER_SIZE}`;
  }
  if (dts > max) return `DataTransferSize ${dts} is above MaxSPDMmsgSize ${max}`;
  if ((flags & SPDM_CAP.CHUNK_CAP) === 0 && max !== dts) {
    return `MaxSPDMmsgSize ${max} differs from DataTransferSize ${dts} without CHUNK_CAP`;
  }
  return undefined;
}
