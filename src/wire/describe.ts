/**
 * One-line descriptions of SPDM messages, looking inside PCI-SIG vendor-defined messages
 * (IDE_KM, TDISP) and the CXL ones (CXL_IDE_KM, TSP: describe-cxl.ts), for traces, the CLI and the viewer. Pure: bytes in, text out. Bad bytes
 * never throw here; they are described as malformed with the WireError's words.
 */
import { describeCxlVdm } from './describe-cxl.ts';
import { isWireError } from './errors.ts';
import { toHex } from './hex.ts';
import {
  decodeIdeKm,
  type IdeKmMessage,
  ideKmObjectName,
  KP_ACK_STATUS,
  PCI_IDE_KM_OBJECT_ID_KP_ACK,
  PCI_IDE_KM_OBJECT_ID_QUERY,
  PCI_IDE_KM_OBJECT_ID_QUERY_RESP,
} from './idekm/index.ts';
import { decodeSpdm, decodeSpdmHeader } from './spdm/codec.ts';
import {
  PCI_PROTOCOL_ID_IDE_KM,
  PCI_PROTOCOL_ID_TDISP,
  SPDM_ERROR,
  SPDM_VENDOR_DEFINED_REQUEST,
  SPDM_VENDOR_DEFINED_RESPONSE,
  spdmCodeName,
  spdmErrorName,
} from './spdm/constants.ts';
import type { SpdmCodecContext } from './spdm/context.ts';
import type { SpdmMessage } from './spdm/messages.ts';
import { decodePciSigPayload } from './spdm/vendor-defined.ts';
import { formatVersionByte } from './spdm/version.ts';
import {
  decodeTdisp,
  LOCK_INTERFACE_FLAGS,
  PCI_TDISP_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_DEVICE_INTERFACE_STATE,
  PCI_TDISP_ERROR,
  PCI_TDISP_GET_DEVICE_INTERFACE_REPORT,
  PCI_TDISP_LOCK_INTERFACE_REQ,
  PCI_TDISP_LOCK_INTERFACE_RSP,
  PCI_TDISP_START_INTERFACE_REQ,
  PCI_TDISP_VERSION,
  TDI_STATE_NAMES,
  TDISP_ERROR_CODE_NAMES,
  type TdispMessage,
  tdispMessageName,
} from './tdisp/index.ts';

export interface MessageDescription {
  /** Protocol of the innermost message: SPDM, IDE_KM, TDISP, the CXL ones, or VDM (another vendor). */
  protocol: 'SPDM' | 'IDE_KM' | 'TDISP' | 'CXL_IDE_KM' | 'CXL_TSP' | 'VDM';
  /** The spec name of the innermost message, e.g. LOCK_INTERFACE_REQUEST. */
  name: string;
  /** Short key facts, e.g. "stream 0 PR RX K0". */
  detail: string;
  /** Set when a layer did not decode. */
  malformed?: string;
}

const SUB_STREAM = ['PR', 'NPR', 'CPL'];

function flagNames(flags: number, table: Readonly<Record<string, number>>): string {
  const names = Object.entries(table)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([n]) => n);
  return names.length ? names.join('|') : '0';
}

function describeIdeKm(m: IdeKmMessage): string {
  if ('kind' in m) return `${m.body.length} B`;
  switch (m.objectId) {
    case PCI_IDE_KM_OBJECT_ID_QUERY:
      return `port ${m.portIndex}`;
    case PCI_IDE_KM_OBJECT_ID_QUERY_RESP:
      return `port ${m.portIndex} bus ${m.busNum} devfn ${m.devFuncNum} max_port ${m.maxPortIndex}`;
    default: {
      const k = m.keySubStream;
      const sub = `stream ${m.streamId} ${SUB_STREAM[k.subStream] ?? k.subStream} ${k.direction} K${k.keySet}`;
      if (m.objectId === PCI_IDE_KM_OBJECT_ID_KP_ACK) {
        const status = Object.entries(KP_ACK_STATUS).find(([, v]) => v === m.status)?.[0];
        return `${sub} status ${status ?? m.status}`;
      }
      return sub;
    }
  }
}

function describeTdisp(m: TdispMessage): string {
  const fn = `if 0x${m.interfaceId.requesterId.toString(16).padStart(4, '0')}`;
  if ('kind' in m) return `${fn} ${m.body.length} B`;
  switch (m.code) {
    case PCI_TDISP_VERSION:
      return `${fn} versions ${m.versions.map(formatVersionByte).join(',')}`;
    case PCI_TDISP_LOCK_INTERFACE_REQ:
      return `${fn} flags ${flagNames(m.flags, LOCK_INTERFACE_FLAGS)} stream ${m.defaultStreamId} offset 0x${m.mmioReportingOffset.toString(16)}`;
    case PCI_TDISP_LOCK_INTERFACE_RSP:
      return `${fn} nonce ${toHex(m.startInterfaceNonce.subarray(0, 8))}..`;
    case PCI_TDISP_GET_DEVICE_INTERFACE_REPORT:
      return `${fn} offset ${m.offset} length ${m.length}`;
    case PCI_TDISP_DEVICE_INTERFACE_REPORT:
      return `${fn} portion ${m.portion.length} remainder ${m.remainderLength}`;
    case PCI_TDISP_DEVICE_INTERFACE_STATE:
      return `${fn} ${TDI_STATE_NAMES[m.tdiState] ?? m.tdiState}`;
    case PCI_TDISP_START_INTERFACE_REQ:
      return `${fn} nonce ${toHex(m.startInterfaceNonce.subarray(0, 8))}..`;
    case PCI_TDISP_ERROR:
      return `${fn} ${TDISP_ERROR_CODE_NAMES[m.errorCode] ?? `0x${m.errorCode.toString(16)}`} data 0x${m.errorData.toString(16)}`;
    default:
      return fn;
  }
}

function describeSpdmFields(m: SpdmMessage): string {
  switch (m.code) {
    case 0x04:
      return m.entries.map((e) => `${e.major}.${e.minor}`).join(',');
    case SPDM_ERROR:
      return `${spdmErrorName(m.errorCode)} data 0x${m.errorData.toString(16)}`;
    default:
      return '';
  }
}

/**
 * Describes one SPDM message (plaintext). Decoding uses `ctx` when given; without it, the
 * header alone names the message and algorithm-sized layouts are not looked into.
 */
export function describeSpdm(bytes: Uint8Array, ctx: SpdmCodecContext = {}): MessageDescription {
  let h: ReturnType<typeof decodeSpdmHeader>;
  try {
    h = decodeSpdmHeader(bytes);
  } catch (e) {
    return {
      protocol: 'SPDM',
      name: '(short)',
      detail: '',
      malformed: String((e as Error).message),
    };
  }
  const name = spdmCodeName(h.code);
  let m: SpdmMessage;
  try {
    m = decodeSpdm(bytes, ctx);
  } catch (e) {
    // Messages whose layout needs the negotiated sizes or the request: name them from the header.
    if (isWireError(e) && (e.field.startsWith('ctx.') || e.detail.includes('ctx.'))) {
      return { protocol: 'SPDM', name, detail: `SPDM ${formatVersionByte(h.version)}` };
    }
    return {
      protocol: 'SPDM',
      name,
      detail: '',
      malformed: isWireError(e) ? e.message : String(e),
    };
  }
  if (m.code !== SPDM_VENDOR_DEFINED_REQUEST && m.code !== SPDM_VENDOR_DEFINED_RESPONSE) {
    return { protocol: 'SPDM', name, detail: describeSpdmFields(m) };
  }
  let p: ReturnType<typeof decodePciSigPayload>;
  try {
    p = decodePciSigPayload(m);
  } catch (e) {
    return { protocol: 'VDM', name, detail: '', malformed: (e as Error).message };
  }
  if (!p) {
    const cxl = describeCxlVdm(m);
    if (cxl) return cxl;
    return {
      protocol: 'VDM',
      name,
      detail: `StandardID 0x${m.standardId.toString(16)} VendorID ${toHex(m.vendorId)} ${m.payload.length} B`,
    };
  }
  try {
    if (p.protocolId === PCI_PROTOCOL_ID_IDE_KM) {
      const k = decodeIdeKm(p.message);
      return { protocol: 'IDE_KM', name: ideKmObjectName(k.objectId), detail: describeIdeKm(k) };
    }
    if (p.protocolId === PCI_PROTOCOL_ID_TDISP) {
      const t = decodeTdisp(p.message);
      return { protocol: 'TDISP', name: tdispMessageName(t.code), detail: describeTdisp(t) };
    }
  } catch (e) {
    return {
      protocol: p.protocolId === PCI_PROTOCOL_ID_IDE_KM ? 'IDE_KM' : 'TDISP',
      name: '(malformed)',
      detail: '',
      malformed: (e as Error).message,
    };
  }
  return { protocol: 'VDM', name, detail: `PCI-SIG protocol ${p.protocolId}` };
}
