/**
 * The TDISP responder (PCIe 6.x 11.3): generic checks, then a dispatch table from request
 * code to handler, for the messages that follow the PCI-SIG ProtocolID byte 1.
 *
 * Order of the generic checks ('spec'): no secured session -> no response; shorter than the
 * header -> SPDM ERROR InvalidRequest; header version -> VERSION_MISMATCH; request code not
 * answered (an unknown MessageType, which the codec decodes to its unknown case, or one
 * this DSM does not serve) -> UNSUPPORTED_REQUEST (ErrorData = the code); malformed ->
 * INVALID_REQUEST, the WireError's field and offset kept in the event;
 * InterfaceID of no TDI -> INVALID_INTERFACE; request illegal in the TDI's state ->
 * INVALID_INTERFACE_STATE (or the behaviour's code for that request); then the handler.
 * 'spdm-emu' checks the size before the version, as its per-request handlers do, and
 * answers TDISP in the clear too.
 */
import { isWireError } from '../../../wire/errors.ts';
import { SPDM_ERROR_CODE } from '../../../wire/spdm/constants.ts';
import {
  PCI_TDISP_BIND_P2P_STREAM_REQ,
  PCI_TDISP_ERROR,
  PCI_TDISP_ERROR_CODE_INVALID_INTERFACE,
  PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE,
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_ERROR_CODE_UNSUPPORTED_REQUEST,
  PCI_TDISP_ERROR_CODE_VERSION_MISMATCH,
  PCI_TDISP_GET_CAPABILITIES,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_GET_DEVICE_INTERFACE_STATE,
  PCI_TDISP_GET_VERSION,
  PCI_TDISP_HEADER_SIZE,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_MESSAGE_VERSION,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ,
  PCI_TDISP_START_INTERFACE_REQ,
  PCI_TDISP_STOP_INTERFACE_REQ,
  PCI_TDISP_UNBIND_P2P_STREAM_REQ,
  TDISP_ERROR_CODE_NAMES,
  tdispMessageName,
} from '../../../wire/tdisp/constants.ts';
import {
  decodeTdisp,
  decodeTdispHeader,
  encodeTdisp,
  type InterfaceId,
  type TdispHeader,
  type TdispMessage,
  type TdispResponse,
} from '../../../wire/tdisp/messages.ts';
import type { FunctionSecurityView } from '../../events.ts';
import { type DsmEvent, type MalformedAt, malformedAt } from '../events.ts';
import type { DsmEnv, DsmState, Step } from '../state.ts';
import { type SessionRef, type Tdi, unlockedTdi } from '../tdi.ts';
import { handleGetCapabilities } from './capabilities.ts';
import {
  responseHeader,
  type TdispContext,
  type TdispHandler,
  type TdispOutcome,
} from './common.ts';
import { handleGetState } from './interface-state.ts';
import { handleLock } from './lock.ts';
import { handleSetMmioAttribute } from './mmio-attribute.ts';
import { handleBindP2P, handleUnbindP2P } from './p2p.ts';
import { handleGetReport } from './report.ts';
import { handleStart } from './start.ts';
import { handleStop } from './stop.ts';
import { handleGetVersion } from './version.ts';

// biome-ignore lint/suspicious/noExplicitAny: each handler takes its own request type, keyed by code
const DISPATCH: Readonly<Record<number, TdispHandler<any>>> = {
  [PCI_TDISP_GET_VERSION]: handleGetVersion,
  [PCI_TDISP_GET_CAPABILITIES]: handleGetCapabilities,
  [PCI_TDISP_LOCK_INTERFACE_REQ]: handleLock,
  [PCI_TDISP_GET_DEVICE_INTERFACE_REPORT]: handleGetReport,
  [PCI_TDISP_GET_DEVICE_INTERFACE_STATE]: handleGetState,
  [PCI_TDISP_START_INTERFACE_REQ]: handleStart,
  [PCI_TDISP_STOP_INTERFACE_REQ]: handleStop,
  [PCI_TDISP_BIND_P2P_STREAM_REQ]: handleBindP2P,
  [PCI_TDISP_UNBIND_P2P_STREAM_REQ]: handleUnbindP2P,
  [PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ]: handleSetMmioAttribute,
};

/** The TDI a FunctionID names, with its live view; undefined when no TDI of this DSM has it. */
export function findTdiFunction(
  id: InterfaceId,
  env: DsmEnv,
): { fn: number; view: FunctionSecurityView } | undefined {
  if (id.segmentValid && id.segment !== env.segment) return undefined;
  for (const view of env.hw.tdis) {
    if (view.requesterId === id.requesterId) return { fn: view.fn, view };
  }
  return undefined;
}

function versionOk(h: TdispHeader, env: DsmEnv): boolean {
  if (h.version === PCI_TDISP_MESSAGE_VERSION) return true;
  return (
    h.code === PCI_TDISP_GET_VERSION && env.behaviour.getVersionAnyMinor && h.version >>> 4 === 1
  );
}

function errorName(code: number): string {
  return `TDISP_ERROR ${TDISP_ERROR_CODE_NAMES[code] ?? `0x${code.toString(16)}`}`;
}

/**
 * The session a TDISP message in the clear is taken to belong to when the behaviour
 * processes such messages ('spdm-emu'): session id 0 of its connection, which no SPDM
 * session has, so nothing keyed or locked on a real session matches it.
 */
export const CLEAR_SESSION_ID = 0;

/**
 * Answers one TDISP request. Never throws on peer bytes.
 * @param session the secured session it came in, undefined for a message in the clear
 * @param connectionId the SPDM connection it came on (for a message in the clear)
 */
export function tdispRespond(
  s: DsmState,
  raw: Uint8Array,
  inSession: SessionRef | undefined,
  env: DsmEnv,
  connectionId = 0,
): Step {
  // validate: TDISP only inside a secured session (no response at all otherwise)
  const session: SessionRef | undefined =
    inSession ??
    (env.behaviour.tdispOutsideSession === 'process'
      ? { connectionId, sessionId: CLEAR_SESSION_ID }
      : undefined);
  if (session === undefined) {
    return {
      state: s,
      result: { kind: 'silent' },
      effects: [],
      events: [{ kind: 'IGNORED', protocol: 'TDISP', reason: 'outside-session' }],
    };
  }
  if (raw.length < PCI_TDISP_HEADER_SIZE) {
    return {
      state: s,
      result: { kind: 'spdm-error', errorCode: SPDM_ERROR_CODE.InvalidRequest },
      effects: [],
      events: [
        { kind: 'TDISP_REQUEST', session, request: 'none', result: 'SPDM ERROR InvalidRequest' },
      ],
    };
  }
  const header = decodeTdispHeader(raw);
  const b = env.behaviour;
  const legal = b.legalStates[header.code];
  let malformed: MalformedAt | undefined;
  const refuse = (errorCode: number, errorData = 0, fn?: number, next?: Tdi): Step =>
    finish(s, env, session, header, fn, next, { kind: 'error', errorCode, errorData }, malformed);

  let req: TdispMessage | undefined;
  const decode = (): TdispMessage | undefined => {
    try {
      const m = decodeTdisp(raw);
      // TDISP 1.0 layout: BIND_P2P_STREAM_REQUEST ends after P2P_STREAM_ID (no 1.1 STREAM_CONFIG).
      return m.code === PCI_TDISP_BIND_P2P_STREAM_REQ && m.streamConfig !== undefined
        ? undefined
        : m;
    } catch (e) {
      // Only peer bytes become INVALID_REQUEST; anything else is a DSM bug and propagates.
      if (!isWireError(e)) throw e;
      malformed = malformedAt(e);
      return undefined;
    }
  };
  if (b.sizeCheckedBeforeVersion) {
    if (legal === undefined) return refuse(PCI_TDISP_ERROR_CODE_UNSUPPORTED_REQUEST, header.code);
    req = decode();
    if (req === undefined) return refuse(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
    if (!versionOk(header, env)) return refuse(PCI_TDISP_ERROR_CODE_VERSION_MISMATCH);
  } else {
    if (!versionOk(header, env)) return refuse(PCI_TDISP_ERROR_CODE_VERSION_MISMATCH);
    if (legal === undefined) return refuse(PCI_TDISP_ERROR_CODE_UNSUPPORTED_REQUEST, header.code);
    req = decode();
    if (req === undefined) return refuse(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  }
  // check state
  const found = findTdiFunction(header.interfaceId, env);
  if (found === undefined) return refuse(PCI_TDISP_ERROR_CODE_INVALID_INTERFACE);
  const tdi = s.tdis[found.fn] ?? unlockedTdi(found.fn);
  if (!legal.includes(tdi.state)) {
    const code = b.illegalStateError[header.code] ?? PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE;
    return refuse(code, 0, found.fn);
  }
  // process
  const c: TdispContext = {
    env,
    session,
    header,
    fn: found.fn,
    tdi,
    view: found.view,
    ideKm: s.ideKm,
  };
  const outcome = DISPATCH[header.code](req, c);
  return finish(s, env, session, header, found.fn, tdi, outcome);
}

/** Respond, update and emit: encodes the response or TDISP_ERROR and commits the TDI. */
function finish(
  s: DsmState,
  env: DsmEnv,
  session: SessionRef,
  header: TdispHeader,
  fn: number | undefined,
  before: Tdi | undefined,
  outcome: TdispOutcome,
  malformed?: MalformedAt,
): Step {
  // respond
  let response: TdispResponse;
  let result: string;
  if (outcome.kind === 'response') {
    response = outcome.response;
    result = tdispMessageName(response.code);
  } else {
    response = {
      ...responseHeader(header, env),
      code: PCI_TDISP_ERROR,
      errorCode: outcome.errorCode,
      errorData: outcome.errorData ?? 0,
    };
    result = errorName(outcome.errorCode);
  }
  // update
  const next = outcome.next;
  const state: DsmState =
    fn !== undefined && next !== undefined ? { ...s, tdis: { ...s.tdis, [fn]: next } } : s;
  // emit
  const events: DsmEvent[] = [
    {
      kind: 'TDISP_REQUEST',
      session,
      fn,
      request: tdispMessageName(header.code),
      result,
      ...(malformed && { malformed }),
    },
    ...(outcome.events ?? []),
  ];
  if (
    fn !== undefined &&
    before !== undefined &&
    next !== undefined &&
    next.state !== before.state
  ) {
    events.push({
      kind: 'TDI_STATE',
      fn,
      from: before.state,
      to: next.state,
      cause: tdispMessageName(header.code),
    });
  }
  return {
    state,
    result: { kind: 'response', message: encodeTdisp(response) },
    effects: outcome.kind === 'response' ? (outcome.effects ?? []) : [],
    events,
  };
}
