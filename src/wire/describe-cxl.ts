/**
 * One-line descriptions of the CXL protocols carried in vendor-defined messages under the
 * CXL VendorID 0x1E98 (StandardID PCI-SIG): CXL_IDE_KM (ProtocolID 0, CXL 3.x 11.4) and
 * CXL TSP (ProtocolID 1, 11.5). describe.ts calls this for VDMs that are not PCI-SIG's own.
 */
import {
  CXL_IDE_KM_OBJECT_ID_KP_ACK,
  CXL_IDE_KM_OBJECT_ID_QUERY,
  CXL_IDE_KM_OBJECT_ID_QUERY_RESP,
  CXL_KP_ACK_STATUS,
  CXL_PROTOCOL_ID_IDE_KM,
  CXL_VENDOR_ID_BYTES,
  cxlIdeKmObjectName,
} from './cxl-idekm/constants.ts';
import { type CxlIdeKmMessage, decodeCxlIdeKm } from './cxl-idekm/messages.ts';
import {
  CXL_PROTOCOL_ID_TSP,
  CXL_TSP_ERROR_NAMES,
  CXL_TSP_OPCODE_ERROR_RSP,
  cxlTspOpcodeName,
} from './cxl-tsp/constants.ts';
import { type CxlTspMessage, decodeCxlTsp } from './cxl-tsp/messages.ts';
import type { MessageDescription } from './describe.ts';
import { SPDM_REGISTRY_ID_PCISIG } from './spdm/constants.ts';
import type { VendorDefined } from './spdm/vendor-defined.ts';

function describeCxlIdeKm(m: CxlIdeKmMessage): string {
  if ('kind' in m) return `${m.body.length} B`;
  switch (m.objectId) {
    case CXL_IDE_KM_OBJECT_ID_QUERY:
      return `port ${m.portIndex}`;
    case CXL_IDE_KM_OBJECT_ID_QUERY_RESP:
      return `port ${m.portIndex} caps 0x${m.caps.toString(16)} max_port ${m.maxPortIndex}`;
    default: {
      const sub = `stream ${m.streamId} ${m.keySubStream.direction} port ${m.portIndex}`;
      if (m.objectId !== CXL_IDE_KM_OBJECT_ID_KP_ACK) return sub;
      const status = Object.entries(CXL_KP_ACK_STATUS).find(([, v]) => v === m.status)?.[0];
      return `${sub} status ${status ?? m.status}`;
    }
  }
}

function describeCxlTsp(m: CxlTspMessage): string {
  if ('kind' in m) return `${m.body.length} B`;
  if (m.opCode === CXL_TSP_OPCODE_ERROR_RSP) {
    return `${CXL_TSP_ERROR_NAMES[m.errorCode] ?? `0x${m.errorCode.toString(16)}`}`;
  }
  return `TSP ${m.version >> 4}.${m.version & 0xf}`;
}

/** The description of a CXL VDM, or undefined when the VDM is not under the CXL VendorID. */
export function describeCxlVdm(vdm: VendorDefined): MessageDescription | undefined {
  const v = vdm.vendorId;
  const cxl =
    vdm.standardId === SPDM_REGISTRY_ID_PCISIG &&
    v.length === 2 &&
    v[0] === CXL_VENDOR_ID_BYTES[0] &&
    v[1] === CXL_VENDOR_ID_BYTES[1];
  if (!cxl || vdm.payload.length === 0) return undefined;
  const protocolId = vdm.payload[0];
  const message = vdm.payload.subarray(1);
  if (protocolId !== CXL_PROTOCOL_ID_IDE_KM && protocolId !== CXL_PROTOCOL_ID_TSP) return undefined;
  const protocol = protocolId === CXL_PROTOCOL_ID_IDE_KM ? 'CXL_IDE_KM' : 'CXL_TSP';
  try {
    if (protocol === 'CXL_IDE_KM') {
      const m = decodeCxlIdeKm(message);
      return { protocol, name: cxlIdeKmObjectName(m.objectId), detail: describeCxlIdeKm(m) };
    }
    const m = decodeCxlTsp(message);
    return { protocol, name: cxlTspOpcodeName(m.opCode), detail: describeCxlTsp(m) };
  } catch (e) {
    return { protocol, name: '(malformed)', detail: '', malformed: (e as Error).message };
  }
}
