/**
 * The CXL TSP responder of the DSM (CXL 3.x 11.5): a dispatch table from Opcode to handler
 * for the messages after ProtocolID 1 of a VENDOR_DEFINED_REQUEST with the CXL VendorID.
 * Every failure is an ERROR_RSP with the spec's error code, never an SPDM ERROR:
 *
 * - outside a secured session: NO_PRIVILEGE (TSP belongs to an SPDM session);
 * - TSPVersion other than 1.0: VERSION_MISMATCH;
 * - a request of the wrong length: INVALID_REQUEST;
 * - an opcode without a handler (CKID / range keys: this target has none): UNSUPPORTED_REQUEST;
 * - SET_TARGET_CONFIGURATION asking for what the capabilities lack:
 *   INVALID_SECURITY_CONFIGURATION; in CONFIG_LOCKED: ALREADY_LOCKED;
 * - LOCK_TARGET_CONFIGURATION when locked: ALREADY_LOCKED;
 * - SET_TARGET_TE_STATE before the lock: INVALID_SECURITY_STATE.
 */
import {
  CXL_TSP_ERROR_CODE_ALREADY_LOCKED,
  CXL_TSP_ERROR_CODE_INVALID_REQUEST,
  CXL_TSP_ERROR_CODE_INVALID_SECURITY_CONFIGURATION,
  CXL_TSP_ERROR_CODE_INVALID_SECURITY_STATE,
  CXL_TSP_ERROR_CODE_NO_PRIVILEGE,
  CXL_TSP_ERROR_CODE_UNSUPPORTED_REQUEST,
  CXL_TSP_ERROR_CODE_VERSION_MISMATCH,
  CXL_TSP_ERROR_NAMES,
  CXL_TSP_MESSAGE_VERSION_10,
  CXL_TSP_OPCODE_ERROR_RSP,
  CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES,
  CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES_RSP,
  CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION,
  CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT,
  CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT_RSP,
  CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_RSP,
  CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION,
  CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION_RSP,
  CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION,
  CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION_RSP,
  CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION,
  CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION_RSP,
  CXL_TSP_OPCODE_SET_TARGET_TE_STATE,
  CXL_TSP_OPCODE_SET_TARGET_TE_STATE_RSP,
  cxlTspOpcodeName,
} from '../../../wire/cxl-tsp/constants.ts';
import {
  type CxlTspGetConfigurationReport,
  type CxlTspMessage,
  type CxlTspSetConfiguration,
  type CxlTspSetTeState,
  type CxlTspSimpleOpcode,
  decodeCxlTsp,
  encodeCxlTsp,
} from '../../../wire/cxl-tsp/messages.ts';
import { isWireError } from '../../../wire/errors.ts';
import { cxlIdeRegisters } from '../cxl-ide-km/keys.ts';
import { malformedAt } from '../events.ts';
import type { DsmEnv, DsmState, Step } from '../state.ts';
import type { SessionRef } from '../tdi.ts';
import { type CxlTspCapability, configurationReport, unconfigured } from './target.ts';

export interface CxlTspContext {
  env: DsmEnv;
  cap: CxlTspCapability;
  session?: SessionRef;
}

type Handler = (s: DsmState, m: CxlTspMessage, c: CxlTspContext) => Step;

const reply = (
  s: DsmState,
  c: CxlTspContext,
  request: string,
  message: CxlTspMessage,
  result = cxlTspOpcodeName(message.opCode),
): Step => ({
  state: s,
  result: { kind: 'response', message: encodeCxlTsp(message) },
  effects: [],
  events: [{ kind: 'CXL_TSP_REQUEST', session: c.session, request, result }],
});

function error(s: DsmState, c: CxlTspContext, request: string, errorCode: number): Step {
  return reply(
    s,
    c,
    request,
    {
      version: CXL_TSP_MESSAGE_VERSION_10,
      opCode: CXL_TSP_OPCODE_ERROR_RSP,
      errorCode,
      errorData: 0,
    },
    `ERROR_RSP ${CXL_TSP_ERROR_NAMES[errorCode] ?? errorCode}`,
  );
}

const simple = (op: CxlTspSimpleOpcode) => ({ version: CXL_TSP_MESSAGE_VERSION_10, opCode: op });

const handleVersion: Handler = (s, _m, c) =>
  reply(s, c, 'GET_TARGET_TSP_VERSION', {
    version: CXL_TSP_MESSAGE_VERSION_10,
    opCode: CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION_RSP,
    versions: [CXL_TSP_MESSAGE_VERSION_10],
  });

const handleCapabilities: Handler = (s, _m, c) =>
  reply(s, c, 'GET_TARGET_CAPABILITIES', {
    version: CXL_TSP_MESSAGE_VERSION_10,
    opCode: CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES_RSP,
    ...c.cap,
  });

/** Enable bits 2:0 are the Supported bits 2:0; CKID_BASED_REQUIRED moves from bit 4 to bit 3. */
function featuresSupportedAsEnable(supported: number): number {
  return (supported & 0x7) | ((supported & 0x10) >>> 1);
}

/** Why the requested configuration does not fit the capabilities, or undefined. */
function unsupportedConfiguration(
  m: CxlTspSetConfiguration,
  cap: CxlTspCapability,
): string | undefined {
  const sub = (v: number, of: number) => (v & ~of) === 0;
  if (
    !sub(
      m.memoryEncryptionFeaturesEnable,
      featuresSupportedAsEnable(cap.memoryEncryptionFeaturesSupported),
    )
  )
    return 'memory encryption features';
  const alg = m.memoryEncryptionAlgorithmSelect;
  if ((alg & (alg - 1)) !== 0 || !sub(alg, cap.memoryEncryptionAlgorithmsSupported))
    return 'memory encryption algorithm';
  if (
    !sub(
      m.teStateChangeAndAccessControlFeaturesEnable,
      cap.teStateChangeAndAccessControlFeaturesSupported,
    )
  )
    return 'TE state change and access control features';
  if (!sub(m.explicitOobTeStateGranularity, cap.supportedExplicitOobTeStateGranularity))
    return 'explicit OOB TE state granularity';
  // bit 1 (special-purpose memory) may be set in SET only
  if (!sub(m.configurationFeaturesEnable, cap.configurationFeaturesSupported | 0x2))
    return 'configuration features';
  if (cap.numberOfCkids === 0 && (m.ckidBase !== 0 || m.numberOfCkids !== 0)) return 'CKIDs';
  if (m.configurationValidityFlags >>> cap.numberOfSecondarySessions !== 0)
    return 'secondary sessions';
  return undefined;
}

const handleSetConfiguration: Handler = (s, m, c) => {
  const req = m as CxlTspSetConfiguration;
  const name = 'SET_TARGET_CONFIGURATION';
  if (s.cxlTsp.state !== 'CONFIG_UNLOCKED')
    return error(s, c, name, CXL_TSP_ERROR_CODE_ALREADY_LOCKED);
  const why = unsupportedConfiguration(req, c.cap);
  if (why) return error(s, c, name, CXL_TSP_ERROR_CODE_INVALID_SECURITY_CONFIGURATION);
  const configuration = {
    memoryEncryptionFeaturesEnable: req.memoryEncryptionFeaturesEnable,
    memoryEncryptionAlgorithmSelect: req.memoryEncryptionAlgorithmSelect,
    teStateChangeAndAccessControlFeaturesEnable: req.teStateChangeAndAccessControlFeaturesEnable,
    explicitOobTeStateGranularity: req.explicitOobTeStateGranularity,
    // special-purpose memory is a SET-only switch, not reported back
    configurationFeaturesEnable: req.configurationFeaturesEnable & ~0x2,
    ckidBase: req.ckidBase,
    numberOfCkids: req.numberOfCkids,
    explicitIbTeStateGranularity: req.explicitIbTeStateGranularity.map((e) => ({
      teStateGranularity: e.teStateGranularity,
      lengthIndex: e.lengthIndex,
    })),
  };
  const state = { ...s, cxlTsp: { ...s.cxlTsp, configuration, configuredBy: c.session } };
  return reply(state, c, name, simple(CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION_RSP));
};

const TSP_STATE_CODE = { CONFIG_UNLOCKED: 0, CONFIG_LOCKED: 1, ERROR: 2 } as const;

const handleGetConfiguration: Handler = (s, _m, c) =>
  reply(s, c, 'GET_TARGET_CONFIGURATION', {
    version: CXL_TSP_MESSAGE_VERSION_10,
    opCode: CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_RSP,
    ...(s.cxlTsp.configuration ?? unconfigured()),
    currentTspState: TSP_STATE_CODE[s.cxlTsp.state],
  });

const handleReport: Handler = (s, m, c) => {
  const req = m as CxlTspGetConfigurationReport;
  const name = 'GET_TARGET_CONFIGURATION_REPORT';
  if (s.cxlTsp.state === 'ERROR')
    return error(s, c, name, CXL_TSP_ERROR_CODE_INVALID_SECURITY_STATE);
  const cxlIde = c.env.cxlIde;
  const report = configurationReport(
    cxlIde ? cxlIdeRegisters(cxlIde, s.cxlIdeKm.ports[0]) : undefined,
  );
  if (req.length === 0 || req.offset >= report.length) {
    return error(s, c, name, CXL_TSP_ERROR_CODE_INVALID_REQUEST);
  }
  const portion = report.subarray(req.offset, Math.min(report.length, req.offset + req.length));
  return reply(s, c, name, {
    version: CXL_TSP_MESSAGE_VERSION_10,
    opCode: CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT_RSP,
    remainderLength: report.length - req.offset - portion.length,
    portion: portion.slice(),
  });
};

const handleLock: Handler = (s, _m, c) => {
  const name = 'LOCK_TARGET_CONFIGURATION';
  if (s.cxlTsp.state === 'CONFIG_LOCKED')
    return error(s, c, name, CXL_TSP_ERROR_CODE_ALREADY_LOCKED);
  if (s.cxlTsp.state !== 'CONFIG_UNLOCKED') {
    return error(s, c, name, CXL_TSP_ERROR_CODE_INVALID_SECURITY_STATE);
  }
  const state = {
    ...s,
    cxlTsp: { ...s.cxlTsp, state: 'CONFIG_LOCKED' as const, configuredBy: c.session },
  };
  const step = reply(state, c, name, simple(CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION_RSP));
  step.events.push({
    kind: 'CXL_TSP_STATE',
    from: s.cxlTsp.state,
    to: 'CONFIG_LOCKED',
    cause: name,
  });
  return step;
};

const handleTeState: Handler = (s, m, c) => {
  const req = m as CxlTspSetTeState;
  const name = 'SET_TARGET_TE_STATE';
  if (s.cxlTsp.state !== 'CONFIG_LOCKED') {
    return error(s, c, name, CXL_TSP_ERROR_CODE_INVALID_SECURITY_STATE);
  }
  if (req.teState > 1 || req.memoryRanges.some((r) => r.length === 0n)) {
    return error(s, c, name, CXL_TSP_ERROR_CODE_INVALID_REQUEST);
  }
  const key = (r: { startingAddress: bigint; length: bigint }) =>
    `${r.startingAddress}:${r.length}`;
  const named = new Set(req.memoryRanges.map(key));
  const kept = s.cxlTsp.teRanges.filter((r) => !named.has(key(r)));
  const teRanges = req.teState === 1 ? [...kept, ...req.memoryRanges.map((r) => ({ ...r }))] : kept;
  const state = { ...s, cxlTsp: { ...s.cxlTsp, teRanges } };
  return reply(state, c, name, simple(CXL_TSP_OPCODE_SET_TARGET_TE_STATE_RSP));
};

/** Opcode -> handler; the codec has checked each request's layout and length. */
const DISPATCH: Readonly<Record<number, Handler>> = {
  [CXL_TSP_OPCODE_GET_TARGET_TSP_VERSION]: handleVersion,
  [CXL_TSP_OPCODE_GET_TARGET_CAPABILITIES]: handleCapabilities,
  [CXL_TSP_OPCODE_SET_TARGET_CONFIGURATION]: handleSetConfiguration,
  [CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION]: handleGetConfiguration,
  [CXL_TSP_OPCODE_GET_TARGET_CONFIGURATION_REPORT]: handleReport,
  [CXL_TSP_OPCODE_LOCK_TARGET_CONFIGURATION]: handleLock,
  [CXL_TSP_OPCODE_SET_TARGET_TE_STATE]: handleTeState,
};

/** Answers one TSP request. Never throws on peer bytes. */
export function cxlTspRespond(s: DsmState, raw: Uint8Array, c: CxlTspContext): Step {
  const opCode = raw.length >= 2 ? raw[1] : undefined;
  const name = opCode === undefined ? 'none' : cxlTspOpcodeName(opCode);
  // validate: a session, the version, a request this target serves, its layout
  if (c.session === undefined) return error(s, c, name, CXL_TSP_ERROR_CODE_NO_PRIVILEGE);
  if (opCode === undefined) return error(s, c, name, CXL_TSP_ERROR_CODE_INVALID_REQUEST);
  if (raw[0] !== CXL_TSP_MESSAGE_VERSION_10) {
    return error(s, c, name, CXL_TSP_ERROR_CODE_VERSION_MISMATCH);
  }
  const handler = DISPATCH[opCode];
  if (handler === undefined) return error(s, c, name, CXL_TSP_ERROR_CODE_UNSUPPORTED_REQUEST);
  let m: CxlTspMessage;
  try {
    m = decodeCxlTsp(raw);
  } catch (e) {
    if (!isWireError(e)) throw e;
    const step = error(s, c, name, CXL_TSP_ERROR_CODE_INVALID_REQUEST);
    const ev = step.events[0];
    if (ev.kind === 'CXL_TSP_REQUEST') ev.malformed = malformedAt(e);
    return step;
  }
  // check state + process + respond (per handler)
  return handler(s, m, c);
}
