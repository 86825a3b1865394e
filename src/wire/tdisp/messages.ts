/**
 * The union of every TDISP message teeio encodes and decodes, discriminated on `code` (the
 * header's MessageType, compared against the PCI_TDISP_* constants), plus the unknown case
 * (`kind: 'unknown'`) for MessageTypes without a codec: check `'kind' in m` before
 * switching on `code`. Each family lives in its own file; this file gathers the types and
 * re-exports the codec entry points for the callers that import them with the types.
 */
import type { GetTdispCapabilities, TdispCapabilities } from './capabilities.ts';
import type { DeviceInterfaceReport, GetDeviceInterfaceReport } from './device-interface-report.ts';
import type { TdispError } from './error.ts';
import type { DeviceInterfaceState, GetDeviceInterfaceState } from './interface-state.ts';
import type { LockInterfaceRequest, LockInterfaceResponse } from './lock.ts';
import type { SetMmioAttributeRequest, SetMmioAttributeResponse } from './mmio-attribute.ts';
import type {
  BindP2PStreamRequest,
  BindP2PStreamResponse,
  UnbindP2PStreamRequest,
  UnbindP2PStreamResponse,
} from './p2p.ts';
import type { StartInterfaceRequest, StartInterfaceResponse } from './start.ts';
import type { StopInterfaceRequest, StopInterfaceResponse } from './stop.ts';
import type { SetTdispConfigRequest, SetTdispConfigResponse } from './tdisp-config.ts';
import type { TdispUnknown } from './unknown.ts';
import type { VdmRequest, VdmResponse } from './vdm.ts';
import type { GetTdispVersion, TdispVersion } from './version.ts';

export {
  type GetTdispCapabilities,
  reqMsgsSupportedBitmap,
  reqMsgsSupportedCodes,
  type TdispCapabilities,
} from './capabilities.ts';
export { decodeTdisp, encodeTdisp, type TdispFamilyCodec } from './codec.ts';
export type { DeviceInterfaceReport, GetDeviceInterfaceReport } from './device-interface-report.ts';
export type { TdispError, VendorErrorData } from './error.ts';
export {
  decodeFunctionId,
  decodeTdispHeader,
  encodeFunctionId,
  type InterfaceId,
  type TdispHeader,
} from './header.ts';
export type { DeviceInterfaceState, GetDeviceInterfaceState } from './interface-state.ts';
export type { LockInterfaceRequest, LockInterfaceResponse } from './lock.ts';
export type { SetMmioAttributeRequest, SetMmioAttributeResponse } from './mmio-attribute.ts';
export type {
  BindP2PStreamRequest,
  BindP2PStreamResponse,
  UnbindP2PStreamRequest,
  UnbindP2PStreamResponse,
} from './p2p.ts';
export type { StartInterfaceRequest, StartInterfaceResponse } from './start.ts';
export type { StopInterfaceRequest, StopInterfaceResponse } from './stop.ts';
export type { SetTdispConfigRequest, SetTdispConfigResponse } from './tdisp-config.ts';
export type { TdispUnknown } from './unknown.ts';
export type { VdmBody, VdmRequest, VdmResponse } from './vdm.ts';
export type { GetTdispVersion, TdispVersion } from './version.ts';

// Families add their message types to these unions (one line each).
export type TdispRequest =
  | GetTdispVersion
  | GetTdispCapabilities
  | LockInterfaceRequest
  | GetDeviceInterfaceReport
  | GetDeviceInterfaceState
  | StartInterfaceRequest
  | StopInterfaceRequest
  | BindP2PStreamRequest
  | UnbindP2PStreamRequest
  | SetMmioAttributeRequest
  | VdmRequest
  | SetTdispConfigRequest;

export type TdispResponse =
  | TdispVersion
  | TdispCapabilities
  | LockInterfaceResponse
  | DeviceInterfaceReport
  | DeviceInterfaceState
  | StartInterfaceResponse
  | StopInterfaceResponse
  | BindP2PStreamResponse
  | UnbindP2PStreamResponse
  | SetMmioAttributeResponse
  | VdmResponse
  | SetTdispConfigResponse
  | TdispError;

/** Every message type the table has a codec for. */
export type TdispKnownMessage = TdispRequest | TdispResponse;

/** What `decodeTdisp` returns and `encodeTdisp` takes. */
export type TdispMessage = TdispKnownMessage | TdispUnknown;
