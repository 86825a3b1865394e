/**
 * TDISP messages, PCIe Base 6.x chapter 11 (TEE Device Interface Security Protocol):
 * the 16-byte header with its InterfaceID, and every request and response, discriminated
 * on `code` (the header's MessageType, compared against the PCI_TDISP_* constants).
 *
 * The bytes handled here are the TDISP message that follows the ProtocolID byte of the
 * PCI-SIG vendor-defined wrapper (WIRE.md "PCI-SIG vendor-defined wrapper"). The header
 * version is kept as sent: whether 0x10 is acceptable is the responder's decision
 * (it answers VersionMismatch), not the codec's.
 */
import { WireError } from '../errors.ts';
import { Reader } from '../reader.ts';
import { Writer } from '../writer.ts';
import {
  PCI_TDISP_BIND_P2P_STREAM_REQ,
  PCI_TDISP_BIND_P2P_STREAM_RSP,
  PCI_TDISP_CAPABILITIES,
  PCI_TDISP_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_DEVICE_INTERFACE_STATE,
  PCI_TDISP_ERROR,
  PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR,
  PCI_TDISP_FUNCTION_ID_REQUESTER_ID_MASK,
  PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_MASK,
  PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_OFFSET,
  PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_VALID,
  PCI_TDISP_FUNCTION_ID_RESERVED_MASK,
  PCI_TDISP_GET_CAPABILITIES,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_GET_DEVICE_INTERFACE_STATE,
  PCI_TDISP_GET_VERSION,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_LOCK_INTERFACE_RSP,
  PCI_TDISP_REQ_MSGS_SUPPORTED_SIZE,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP,
  PCI_TDISP_SET_TDISP_CONFIG_REQ,
  PCI_TDISP_SET_TDISP_CONFIG_RSP,
  PCI_TDISP_START_INTERFACE_NONCE_SIZE,
  PCI_TDISP_START_INTERFACE_REQ,
  PCI_TDISP_START_INTERFACE_RSP,
  PCI_TDISP_STOP_INTERFACE_REQ,
  PCI_TDISP_STOP_INTERFACE_RSP,
  PCI_TDISP_UNBIND_P2P_STREAM_REQ,
  PCI_TDISP_UNBIND_P2P_STREAM_RSP,
  PCI_TDISP_VDM_REQ,
  PCI_TDISP_VDM_RSP,
  PCI_TDISP_VERSION,
  tdispMessageName,
} from './constants.ts';
import { type MmioRange, readMmioRange, writeMmioRange } from './report.ts';

const PROTOCOL = 'TDISP';

/** InterfaceID: FunctionID (u32) + reserved u64. */
export interface InterfaceId {
  /** FunctionID bits 15:0: the TDI's Requester ID (bus/device/function). */
  requesterId: number;
  /** FunctionID bits 23:16: the Requester Segment. */
  segment: number;
  /** FunctionID bit 24: Requester Segment Valid. */
  segmentValid: boolean;
  /** FunctionID bits 31:25 as they sit in the u32 (mask 0xfe000000); absent when zero. */
  functionIdReserved?: number;
  /** The reserved u64 after FunctionID; absent when zero. */
  reserved?: bigint;
}

/** Fields of the 16-byte header that every TDISP message carries. */
export interface TdispHeader {
  /** TDISPVersion byte (0x10 for TDISP 1.0), kept as sent. */
  version: number;
  /** MessageType (PCI_TDISP_*). */
  code: number;
  /** Bytes 2-3, reserved. */
  reserved?: number;
  interfaceId: InterfaceId;
}

type Msg<C extends number, B = unknown> = TdispHeader & { code: C } & B;

export type GetTdispVersion = Msg<typeof PCI_TDISP_GET_VERSION>;
export type TdispVersion = Msg<
  typeof PCI_TDISP_VERSION,
  {
    /** VERSION_NUM_ENTRY bytes (major << 4 | minor); the count byte is their number. */
    versions: readonly number[];
  }
>;
export type GetTdispCapabilities = Msg<typeof PCI_TDISP_GET_CAPABILITIES, { tsmCaps: number }>;
export type TdispCapabilities = Msg<
  typeof PCI_TDISP_CAPABILITIES,
  {
    dsmCaps: number;
    /** 16-byte bitmap: bit n set = request code 0x80 + n supported. */
    reqMsgsSupported: Uint8Array;
    /** LOCK_INTERFACE_FLAGS the DSM supports. */
    lockInterfaceFlagsSupported: number;
    /** The 3 reserved bytes; absent when zero. */
    capsReserved?: Uint8Array;
    devAddrWidth: number;
    numReqThis: number;
    numReqAll: number;
  }
>;
export type LockInterfaceRequest = Msg<
  typeof PCI_TDISP_LOCK_INTERFACE_REQ,
  {
    /** LOCK_INTERFACE_FLAGS bits; unknown bits kept. */
    flags: number;
    defaultStreamId: number;
    /** The reserved byte after DEFAULT_STREAM_ID; absent when zero. */
    lockReserved?: number;
    mmioReportingOffset: bigint;
    bindP2PAddressMask: bigint;
  }
>;
export type LockInterfaceResponse = Msg<
  typeof PCI_TDISP_LOCK_INTERFACE_RSP,
  { startInterfaceNonce: Uint8Array }
>;
export type GetDeviceInterfaceReport = Msg<
  typeof PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  { offset: number; length: number }
>;
export type DeviceInterfaceReport = Msg<
  typeof PCI_TDISP_DEVICE_INTERFACE_REPORT,
  {
    /** The report bytes of this portion; PortionLength on the wire is their count. */
    portion: Uint8Array;
    remainderLength: number;
  }
>;
export type GetDeviceInterfaceState = Msg<typeof PCI_TDISP_GET_DEVICE_INTERFACE_STATE>;
export type DeviceInterfaceState = Msg<
  typeof PCI_TDISP_DEVICE_INTERFACE_STATE,
  {
    /** TDI_STATE; unknown values kept. */
    tdiState: number;
  }
>;
export type StartInterfaceRequest = Msg<
  typeof PCI_TDISP_START_INTERFACE_REQ,
  { startInterfaceNonce: Uint8Array }
>;
export type StartInterfaceResponse = Msg<typeof PCI_TDISP_START_INTERFACE_RSP>;
export type StopInterfaceRequest = Msg<typeof PCI_TDISP_STOP_INTERFACE_REQ>;
export type StopInterfaceResponse = Msg<typeof PCI_TDISP_STOP_INTERFACE_RSP>;
export type BindP2PStreamRequest = Msg<
  typeof PCI_TDISP_BIND_P2P_STREAM_REQ,
  {
    p2pStreamId: number;
    /**
     * TDISP 1.1 stream_config byte: present (any value, 0 included) when the request
     * carries it, absent for the 1.0 layout that ends after P2P_STREAM_ID.
     */
    streamConfig?: number;
  }
>;
export type BindP2PStreamResponse = Msg<typeof PCI_TDISP_BIND_P2P_STREAM_RSP>;
export type UnbindP2PStreamRequest = Msg<
  typeof PCI_TDISP_UNBIND_P2P_STREAM_REQ,
  { p2pStreamId: number }
>;
export type UnbindP2PStreamResponse = Msg<typeof PCI_TDISP_UNBIND_P2P_STREAM_RSP>;
export type SetMmioAttributeRequest = Msg<
  typeof PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ,
  { mmioRange: MmioRange }
>;
export type SetMmioAttributeResponse = Msg<typeof PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP>;

/** VDM_REQUEST / VDM_RESPONSE body: REGISTRY_ID u8, VENDOR_ID_LEN u8, VENDOR_ID, vendor data. */
export interface VdmBody {
  registryId: number;
  vendorId: Uint8Array;
  payload: Uint8Array;
}
export type VdmRequest = Msg<typeof PCI_TDISP_VDM_REQ, VdmBody>;
export type VdmResponse = Msg<typeof PCI_TDISP_VDM_RSP, VdmBody>;
export type SetTdispConfigRequest = Msg<
  typeof PCI_TDISP_SET_TDISP_CONFIG_REQ,
  { dsmConfig: number }
>;
export type SetTdispConfigResponse = Msg<typeof PCI_TDISP_SET_TDISP_CONFIG_RSP>;

/** Extended error data of VendorSpecificError: REGISTRY_ID, VENDOR_ID_LEN, VENDOR_ID, data. */
export interface VendorErrorData {
  registryId: number;
  vendorId: Uint8Array;
  data: Uint8Array;
}

export type TdispError = Msg<
  typeof PCI_TDISP_ERROR,
  {
    /** TDISP_ERROR_CODE; unknown values kept. */
    errorCode: number;
    /** For UnsupportedRequest the request's MessageType; otherwise code-specific or 0. */
    errorData: number;
    /** Extended error data kept raw, for every code but VendorSpecificError; absent when empty. */
    extendedErrorData?: Uint8Array;
    /** Parsed extended error data of VendorSpecificError (0xFF); absent when empty. */
    vendorError?: VendorErrorData;
  }
>;

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

export type TdispMessage = TdispRequest | TdispResponse;

/** Message types whose whole message is the 16-byte header. */
const HEADER_ONLY: ReadonlySet<number> = new Set([
  PCI_TDISP_GET_VERSION,
  PCI_TDISP_GET_DEVICE_INTERFACE_STATE,
  PCI_TDISP_START_INTERFACE_RSP,
  PCI_TDISP_STOP_INTERFACE_REQ,
  PCI_TDISP_STOP_INTERFACE_RSP,
  PCI_TDISP_BIND_P2P_STREAM_RSP,
  PCI_TDISP_UNBIND_P2P_STREAM_RSP,
  PCI_TDISP_SET_MMIO_ATTRIBUTE_RSP,
  PCI_TDISP_SET_TDISP_CONFIG_RSP,
]);

/** Splits FunctionID (every u32 decodes). */
export function decodeFunctionId(
  v: number,
): Pick<InterfaceId, 'requesterId' | 'segment' | 'segmentValid' | 'functionIdReserved'> {
  const f: Pick<InterfaceId, 'requesterId' | 'segment' | 'segmentValid' | 'functionIdReserved'> = {
    requesterId: v & PCI_TDISP_FUNCTION_ID_REQUESTER_ID_MASK,
    segment:
      (v & PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_MASK) >>>
      PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_OFFSET,
    segmentValid: (v & PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_VALID) !== 0,
  };
  const reserved = (v & PCI_TDISP_FUNCTION_ID_RESERVED_MASK) >>> 0;
  if (reserved) f.functionIdReserved = reserved;
  return f;
}

/** Builds FunctionID. @throws RangeError when a field does not fit. */
export function encodeFunctionId(id: InterfaceId): number {
  const check = (v: number, max: number, field: string) => {
    if (!Number.isInteger(v) || v < 0 || v > max)
      throw new RangeError(`${field}: ${v} out of range`);
  };
  check(id.requesterId, 0xffff, 'requesterId');
  check(id.segment, 0xff, 'segment');
  const reserved = id.functionIdReserved ?? 0;
  if (!Number.isInteger(reserved) || (reserved & ~PCI_TDISP_FUNCTION_ID_RESERVED_MASK) !== 0) {
    throw new RangeError(`functionIdReserved: 0x${reserved.toString(16)} is outside bits 31:25`);
  }
  return (
    (id.requesterId |
      (id.segment << PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_OFFSET) |
      (id.segmentValid ? PCI_TDISP_FUNCTION_ID_REQUESTER_SEGMENT_VALID : 0) |
      reserved) >>>
    0
  );
}

function readHeader(r: Reader): TdispHeader {
  const version = r.u8('TDISPVersion');
  const code = r.u8('MessageType');
  const reserved = r.reservedU16('Reserved');
  const interfaceId: InterfaceId = decodeFunctionId(r.u32('InterfaceID.FunctionID'));
  const idReserved = r.u64('InterfaceID.Reserved');
  if (idReserved !== 0n) interfaceId.reserved = idReserved;
  const h: TdispHeader = { version, code, interfaceId };
  if (reserved !== undefined) h.reserved = reserved;
  return h;
}

/**
 * Decodes only the 16-byte header, whatever the MessageType (for dispatch and for
 * answering unknown or malformed requests with TDISP_ERROR). Bytes after it are ignored.
 * @throws WireError 'truncated' on fewer than 16 bytes.
 */
export function decodeTdispHeader(bytes: Uint8Array): TdispHeader {
  return readHeader(new Reader(bytes, PROTOCOL, 'header'));
}

function readVdmBody(r: Reader): VdmBody {
  const registryId = r.u8('REGISTRY_ID');
  const vendorId = r.bytes(r.u8('VENDOR_ID_LEN'), 'VENDOR_ID');
  return { registryId, vendorId, payload: r.rest('VendorData') };
}

function readErrorBody(
  r: Reader,
): Pick<TdispError, 'errorCode' | 'errorData' | 'extendedErrorData' | 'vendorError'> {
  const errorCode = r.u32('ErrorCode');
  const errorData = r.u32('ErrorData');
  const out: Pick<TdispError, 'errorCode' | 'errorData' | 'extendedErrorData' | 'vendorError'> = {
    errorCode,
    errorData,
  };
  if (r.remaining === 0) return out;
  if (errorCode === PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR) {
    const registryId = r.u8('ExtendedErrorData.REGISTRY_ID');
    const vendorId = r.bytes(
      r.u8('ExtendedErrorData.VENDOR_ID_LEN'),
      'ExtendedErrorData.VENDOR_ID',
    );
    out.vendorError = { registryId, vendorId, data: r.rest('ExtendedErrorData.VendorErrorData') };
  } else {
    out.extendedErrorData = r.rest('ExtendedErrorData');
  }
  return out;
}

/**
 * Adds the body fields to the decoded header object: one object per message, no copy
 * (an object spread with extra fields costs about a microsecond in V8).
 */
function withBody<M extends TdispMessage>(h: TdispHeader, body: Omit<M, keyof TdispHeader>): M {
  return Object.assign(h, body) as unknown as M;
}

/**
 * Decodes one TDISP message (the bytes after the ProtocolID byte).
 * @throws WireError on a short message ('truncated'), an unknown MessageType ('bad-field'),
 *   a PortionLength that disagrees with the bytes ('bad-field'), or extra bytes ('trailing').
 */
export function decodeTdisp(bytes: Uint8Array): TdispMessage {
  const r = new Reader(bytes, PROTOCOL, 'header');
  const h = readHeader(r);
  r.msg = tdispMessageName(h.code);
  let m: TdispMessage;
  if (HEADER_ONLY.has(h.code)) {
    m = h as TdispMessage;
  } else {
    switch (h.code) {
      case PCI_TDISP_VERSION: {
        const count = r.u8('VERSION_NUM_COUNT');
        const versions: number[] = new Array(count);
        for (let i = 0; i < count; i++) versions[i] = r.u8('VERSION_NUM_ENTRY');
        m = withBody<TdispVersion>(h, { versions });
        break;
      }
      case PCI_TDISP_GET_CAPABILITIES:
        m = withBody<GetTdispCapabilities>(h, { tsmCaps: r.u32('TSM_CAPS') });
        break;
      case PCI_TDISP_CAPABILITIES: {
        const dsmCaps = r.u32('DSM_CAPS');
        const reqMsgsSupported = r.bytes(PCI_TDISP_REQ_MSGS_SUPPORTED_SIZE, 'REQ_MSGS_SUPPORTED');
        const lockInterfaceFlagsSupported = r.u16('LOCK_INTERFACE_FLAGS_SUPPORTED');
        const capsReserved = r.reservedBytes(3, 'Reserved');
        const c = withBody<TdispCapabilities>(h, {
          dsmCaps,
          reqMsgsSupported,
          lockInterfaceFlagsSupported,
          devAddrWidth: r.u8('DEV_ADDR_WIDTH'),
          numReqThis: r.u8('NUM_REQ_THIS'),
          numReqAll: r.u8('NUM_REQ_ALL'),
        });
        if (capsReserved !== undefined) c.capsReserved = capsReserved;
        m = c;
        break;
      }
      case PCI_TDISP_LOCK_INTERFACE_REQ: {
        const flags = r.u16('FLAGS');
        const defaultStreamId = r.u8('DEFAULT_STREAM_ID');
        const lockReserved = r.reservedU8('Reserved');
        const l = withBody<LockInterfaceRequest>(h, {
          flags,
          defaultStreamId,
          mmioReportingOffset: r.u64('MMIO_REPORTING_OFFSET'),
          bindP2PAddressMask: r.u64('BIND_P2P_ADDRESS_MASK'),
        });
        if (lockReserved !== undefined) l.lockReserved = lockReserved;
        m = l;
        break;
      }
      case PCI_TDISP_LOCK_INTERFACE_RSP:
      case PCI_TDISP_START_INTERFACE_REQ:
        m = withBody<LockInterfaceResponse | StartInterfaceRequest>(h, {
          startInterfaceNonce: r.bytes(
            PCI_TDISP_START_INTERFACE_NONCE_SIZE,
            'START_INTERFACE_NONCE',
          ),
        });
        break;
      case PCI_TDISP_GET_DEVICE_INTERFACE_REPORT:
        m = withBody<GetDeviceInterfaceReport>(h, {
          offset: r.u16('OFFSET'),
          length: r.u16('LENGTH'),
        });
        break;
      case PCI_TDISP_DEVICE_INTERFACE_REPORT: {
        const portionAt = r.offset;
        const portionLength = r.u16('PORTION_LENGTH');
        const remainderLength = r.u16('REMAINDER_LENGTH');
        if (portionLength !== r.remaining) {
          throw r.error(
            'PORTION_LENGTH',
            portionLength > r.remaining ? 'truncated' : 'bad-field',
            `${portionLength} but ${r.remaining} report bytes follow`,
            portionAt,
          );
        }
        m = withBody<DeviceInterfaceReport>(h, { portion: r.rest('REPORT'), remainderLength });
        break;
      }
      case PCI_TDISP_DEVICE_INTERFACE_STATE:
        m = withBody<DeviceInterfaceState>(h, { tdiState: r.u8('TDI_STATE') });
        break;
      case PCI_TDISP_BIND_P2P_STREAM_REQ: {
        const b = withBody<BindP2PStreamRequest>(h, { p2pStreamId: r.u8('P2P_STREAM_ID') });
        if (r.remaining > 0) b.streamConfig = r.u8('STREAM_CONFIG');
        m = b;
        break;
      }
      case PCI_TDISP_UNBIND_P2P_STREAM_REQ:
        m = withBody<UnbindP2PStreamRequest>(h, { p2pStreamId: r.u8('P2P_STREAM_ID') });
        break;
      case PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ:
        m = withBody<SetMmioAttributeRequest>(h, { mmioRange: readMmioRange(r) });
        break;
      case PCI_TDISP_VDM_REQ:
      case PCI_TDISP_VDM_RSP:
        m = withBody<VdmRequest | VdmResponse>(h, readVdmBody(r));
        break;
      case PCI_TDISP_SET_TDISP_CONFIG_REQ:
        m = withBody<SetTdispConfigRequest>(h, { dsmConfig: r.u32('DSM_CONFIG') });
        break;
      case PCI_TDISP_ERROR:
        m = withBody<TdispError>(h, readErrorBody(r));
        break;
      default:
        throw new WireError(PROTOCOL, r.msg, 'MessageType', 1, 'bad-field', 'unknown message type');
    }
  }
  r.end();
  return m;
}

function writeVdmBody(w: Writer, b: VdmBody): void {
  w.u8(b.registryId, 'REGISTRY_ID')
    .u8(b.vendorId.length, 'VENDOR_ID_LEN')
    .bytes(b.vendorId)
    .bytes(b.payload);
}

/**
 * Encodes one TDISP message (without the ProtocolID byte).
 * @throws RangeError when a field does not fit, a fixed-size field has the wrong length,
 *   a TDISP_ERROR carries both raw and vendor extended data, or the code is unknown.
 */
export function encodeTdisp(m: TdispMessage): Uint8Array {
  const w = new Writer(m.code === PCI_TDISP_DEVICE_INTERFACE_REPORT ? 20 + m.portion.length : 64);
  w.u8(m.version, 'TDISPVersion')
    .u8(m.code, 'MessageType')
    .u16(m.reserved ?? 0, 'Reserved')
    .u32(encodeFunctionId(m.interfaceId), 'FunctionID')
    .u64(m.interfaceId.reserved ?? 0n, 'InterfaceID.Reserved');
  if (HEADER_ONLY.has(m.code)) return w.finish();
  switch (m.code) {
    case PCI_TDISP_VERSION:
      w.u8(m.versions.length, 'VERSION_NUM_COUNT');
      for (const v of m.versions) w.u8(v, 'VERSION_NUM_ENTRY');
      break;
    case PCI_TDISP_GET_CAPABILITIES:
      w.u32(m.tsmCaps, 'TSM_CAPS');
      break;
    case PCI_TDISP_CAPABILITIES:
      w.u32(m.dsmCaps, 'DSM_CAPS')
        .fixed(m.reqMsgsSupported, PCI_TDISP_REQ_MSGS_SUPPORTED_SIZE, 'REQ_MSGS_SUPPORTED')
        .u16(m.lockInterfaceFlagsSupported, 'LOCK_INTERFACE_FLAGS_SUPPORTED')
        .fixed(m.capsReserved ?? new Uint8Array(3), 3, 'Reserved')
        .u8(m.devAddrWidth, 'DEV_ADDR_WIDTH')
        .u8(m.numReqThis, 'NUM_REQ_THIS')
        .u8(m.numReqAll, 'NUM_REQ_ALL');
      break;
    case PCI_TDISP_LOCK_INTERFACE_REQ:
      w.u16(m.flags, 'FLAGS')
        .u8(m.defaultStreamId, 'DEFAULT_STREAM_ID')
        .u8(m.lockReserved ?? 0, 'Reserved')
        .u64(m.mmioReportingOffset, 'MMIO_REPORTING_OFFSET')
        .u64(m.bindP2PAddressMask, 'BIND_P2P_ADDRESS_MASK');
      break;
    case PCI_TDISP_LOCK_INTERFACE_RSP:
    case PCI_TDISP_START_INTERFACE_REQ:
      w.fixed(m.startInterfaceNonce, PCI_TDISP_START_INTERFACE_NONCE_SIZE, 'START_INTERFACE_NONCE');
      break;
    case PCI_TDISP_GET_DEVICE_INTERFACE_REPORT:
      w.u16(m.offset, 'OFFSET').u16(m.length, 'LENGTH');
      break;
    case PCI_TDISP_DEVICE_INTERFACE_REPORT:
      w.u16(m.portion.length, 'PORTION_LENGTH')
        .u16(m.remainderLength, 'REMAINDER_LENGTH')
        .bytes(m.portion);
      break;
    case PCI_TDISP_DEVICE_INTERFACE_STATE:
      w.u8(m.tdiState, 'TDI_STATE');
      break;
    case PCI_TDISP_BIND_P2P_STREAM_REQ:
      w.u8(m.p2pStreamId, 'P2P_STREAM_ID');
      if (m.streamConfig !== undefined) w.u8(m.streamConfig, 'STREAM_CONFIG');
      break;
    case PCI_TDISP_UNBIND_P2P_STREAM_REQ:
      w.u8(m.p2pStreamId, 'P2P_STREAM_ID');
      break;
    case PCI_TDISP_SET_MMIO_ATTRIBUTE_REQ:
      writeMmioRange(w, m.mmioRange);
      break;
    case PCI_TDISP_VDM_REQ:
    case PCI_TDISP_VDM_RSP:
      writeVdmBody(w, m);
      break;
    case PCI_TDISP_SET_TDISP_CONFIG_REQ:
      w.u32(m.dsmConfig, 'DSM_CONFIG');
      break;
    case PCI_TDISP_ERROR:
      w.u32(m.errorCode, 'ErrorCode').u32(m.errorData, 'ErrorData');
      if (m.vendorError && m.extendedErrorData) {
        throw new RangeError('TDISP_ERROR: extendedErrorData and vendorError are exclusive');
      }
      if (m.vendorError) {
        if (m.errorCode !== PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR) {
          throw new RangeError('TDISP_ERROR: vendorError needs ErrorCode VendorSpecificError');
        }
        w.u8(m.vendorError.registryId, 'REGISTRY_ID')
          .u8(m.vendorError.vendorId.length, 'VENDOR_ID_LEN')
          .bytes(m.vendorError.vendorId)
          .bytes(m.vendorError.data);
      } else if (m.extendedErrorData) {
        if (m.errorCode === PCI_TDISP_ERROR_CODE_VENDOR_SPECIFIC_ERROR) {
          // Would not decode back the same way: VendorSpecificError data is parsed.
          throw new RangeError(
            'TDISP_ERROR: VendorSpecificError extended data goes in vendorError',
          );
        }
        w.bytes(m.extendedErrorData);
      }
      break;
    default:
      throw new RangeError(`no TDISP codec for message type ${(m as { code: number }).code}`);
  }
  return w.finish();
}

/** The request codes a REQ_MSGS_SUPPORTED bitmap marks (bit n = code 0x80 + n). */
export function reqMsgsSupportedCodes(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let n = 0; n < bitmap.length * 8 && n < 128; n++) {
    if (bitmap[n >>> 3] & (1 << (n & 7))) out.push(0x80 + n);
  }
  return out;
}

/** Builds a REQ_MSGS_SUPPORTED bitmap. @throws RangeError on a code outside 0x80..0xFF. */
export function reqMsgsSupportedBitmap(codes: readonly number[]): Uint8Array {
  const out = new Uint8Array(PCI_TDISP_REQ_MSGS_SUPPORTED_SIZE);
  for (const c of codes) {
    if (!Number.isInteger(c) || c < 0x80 || c > 0xff) throw new RangeError(`request code ${c}`);
    out[(c - 0x80) >>> 3] |= 1 << ((c - 0x80) & 7);
  }
  return out;
}
