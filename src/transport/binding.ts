/**
 * TransportMessage <-> binding payload, the one place that knows how SPDM rides on each
 * binding: PCI DOE (PCIe 6.31.3: object type 1 SPDM, type 2 secured SPDM) and MCTP (DSP0275:
 * message type 0x05 SPDM, 0x06 secured SPDM). The payload is what the spdm-emu socket and
 * pcap carry: a whole DOE object, or an MCTP type byte + body.
 */
import {
  decodeDoeObject,
  doeMaxPad,
  encodeDoeObject,
  PCI_DOE_TYPE_SECURED_SPDM,
  PCI_DOE_TYPE_SPDM,
  PCI_DOE_VENDOR_ID_PCISIG,
} from '../wire/doe.ts';
import { WireError } from '../wire/errors.ts';
import {
  decodeMctpMessage,
  encodeMctpMessage,
  MCTP_MESSAGE_TYPE_SECURED_MCTP,
  MCTP_MESSAGE_TYPE_SPDM,
} from '../wire/mctp.ts';
import { doeSecuredRecordBytes } from '../wire/secured.ts';
import { SOCKET_TRANSPORT_TYPE_MCTP, SOCKET_TRANSPORT_TYPE_PCI_DOE } from '../wire/socket.ts';
import type { Binding, TransportMessage } from './types.ts';

/** The spdm-emu socket TransportType of a binding. */
export function socketTransportType(binding: Binding): number {
  return binding === 'pci_doe' ? SOCKET_TRANSPORT_TYPE_PCI_DOE : SOCKET_TRANSPORT_TYPE_MCTP;
}

/**
 * Frames one message for the binding (DOE pads it to a dword).
 * @throws RangeError when the message does not fit one DOE object.
 */
export function encodeTransportPayload(binding: Binding, m: TransportMessage): Uint8Array {
  if (binding === 'pci_doe') {
    return encodeDoeObject({
      vendorId: PCI_DOE_VENDOR_ID_PCISIG,
      type: m.secured ? PCI_DOE_TYPE_SECURED_SPDM : PCI_DOE_TYPE_SPDM,
      payload: m.bytes,
    });
  }
  return encodeMctpMessage({
    type: m.secured ? MCTP_MESSAGE_TYPE_SECURED_MCTP : MCTP_MESSAGE_TYPE_SPDM,
    body: m.bytes,
  });
}

/**
 * Unframes one payload. DOE plain SPDM keeps its padding and reports `maxPad`; a DOE secured
 * record is trimmed to its own Length.
 * @throws WireError when the payload is malformed or is not (secured) SPDM for the binding
 * (a DOE discovery object included: the responder core answers those before calling this).
 */
export function decodeTransportPayload(binding: Binding, payload: Uint8Array): TransportMessage {
  if (binding === 'pci_doe') {
    const obj = decodeDoeObject(payload);
    if (obj.vendorId === PCI_DOE_VENDOR_ID_PCISIG && obj.type === PCI_DOE_TYPE_SPDM) {
      const maxPad = doeMaxPad(obj.payload);
      return maxPad > 0
        ? { secured: false, bytes: obj.payload, maxPad }
        : { secured: false, bytes: obj.payload };
    }
    if (obj.vendorId === PCI_DOE_VENDOR_ID_PCISIG && obj.type === PCI_DOE_TYPE_SECURED_SPDM) {
      return { secured: true, bytes: doeSecuredRecordBytes(obj.payload) };
    }
    throw new WireError(
      'DOE',
      'data object',
      'DataObjectType',
      0,
      'bad-field',
      `vendor 0x${obj.vendorId.toString(16)} type ${obj.type} carries no SPDM`,
    );
  }
  const m = decodeMctpMessage(payload);
  if (m.type === MCTP_MESSAGE_TYPE_SPDM) return { secured: false, bytes: m.body };
  if (m.type === MCTP_MESSAGE_TYPE_SECURED_MCTP) return { secured: true, bytes: m.body };
  throw new WireError(
    'MCTP',
    'message',
    'MessageType',
    0,
    'bad-field',
    `0x${m.type.toString(16)} is not SPDM (0x05) or secured SPDM (0x06)`,
  );
}
