/**
 * The responder side of a binding, shared by the in-process pair and the spdm-emu server:
 * one binding payload in, one payload (or nothing) out. For PCI DOE it answers DOE Discovery
 * (PCIe 6.30.1.1) itself, listing PCI-SIG {Discovery, SPDM, secured SPDM} as spdm-emu's
 * responder does, unless the caller supplies its own discovery answer.
 */
import {
  type DoeDiscoveryRequest,
  type DoeDiscoveryResponse,
  decodeDoeDiscoveryRequest,
  decodeDoeObject,
  encodeDoeDiscoveryResponse,
  encodeDoeObject,
  isDoeDiscovery,
  PCI_DOE_TYPE_DISCOVERY,
  PCI_DOE_TYPE_SECURED_SPDM,
  PCI_DOE_TYPE_SPDM,
  PCI_DOE_VENDOR_ID_PCISIG,
} from '../wire/doe.ts';
import { WireError } from '../wire/errors.ts';
import { decodeTransportPayload, encodeTransportPayload } from './binding.ts';
import { type Binding, type ResponderHandler, TransportError } from './types.ts';

/** Answers one Discovery request; undefined sends no reply. */
export type DoeDiscoveryResponder = (req: DoeDiscoveryRequest) => DoeDiscoveryResponse | undefined;

/** What a DOE SPDM responder lists (WIRE.md): Discovery, SPDM, secured SPDM. */
export const DOE_SPDM_PROTOCOLS: ReadonlyArray<{ vendorId: number; dataObjectType: number }> = [
  { vendorId: PCI_DOE_VENDOR_ID_PCISIG, dataObjectType: PCI_DOE_TYPE_DISCOVERY },
  { vendorId: PCI_DOE_VENDOR_ID_PCISIG, dataObjectType: PCI_DOE_TYPE_SPDM },
  { vendorId: PCI_DOE_VENDOR_ID_PCISIG, dataObjectType: PCI_DOE_TYPE_SECURED_SPDM },
];

/**
 * A Discovery responder over a protocol list. An index past the end gets the last entry,
 * as spdm-emu's responder does (its `default:` case).
 */
export function doeDiscoveryResponder(
  protocols: ReadonlyArray<{ vendorId: number; dataObjectType: number }> = DOE_SPDM_PROTOCOLS,
): DoeDiscoveryResponder {
  return (req) => {
    if (protocols.length === 0) return undefined;
    const i = Math.min(req.index, protocols.length - 1);
    const nextIndex = i + 1 < protocols.length ? i + 1 : 0;
    return { ...protocols[i], nextIndex };
  };
}

/**
 * The DOE object answering the Discovery request carried in `payload` (a Discovery
 * object's payload), or undefined when `discovery` sends no reply.
 * @throws WireError when the request does not decode.
 */
export function doeDiscoveryReply(
  discovery: DoeDiscoveryResponder,
  payload: Uint8Array,
): Uint8Array | undefined {
  const rsp = discovery(decodeDoeDiscoveryRequest(payload));
  if (!rsp) return undefined;
  return encodeDoeObject({
    vendorId: PCI_DOE_VENDOR_ID_PCISIG,
    type: PCI_DOE_TYPE_DISCOVERY,
    payload: encodeDoeDiscoveryResponse(rsp),
  });
}

export interface PayloadResponderOptions {
  /** DOE only: who answers Discovery objects (default: `doeDiscoveryResponder()`). */
  doeDiscovery?: DoeDiscoveryResponder;
}

/** One binding payload in, the reply payload (or undefined) out. */
export type PayloadResponder = (payload: Uint8Array) => Promise<Uint8Array | undefined>;

/**
 * Wraps a message handler into a payload responder for the binding.
 * The returned function rejects with TransportError 'bad-payload' (cause: the WireError)
 * when a payload does not decode; the caller decides whether that ends the connection.
 */
export function payloadResponder(
  binding: Binding,
  handler: ResponderHandler,
  opts: PayloadResponderOptions = {},
): PayloadResponder {
  const discovery = opts.doeDiscovery ?? doeDiscoveryResponder();
  return async (payload) => {
    let msg: ReturnType<typeof decodeTransportPayload>;
    try {
      if (binding === 'pci_doe') {
        const obj = decodeDoeObject(payload);
        if (isDoeDiscovery(obj)) return doeDiscoveryReply(discovery, obj.payload);
      }
      msg = decodeTransportPayload(binding, payload);
    } catch (e) {
      if (e instanceof WireError) {
        throw new TransportError('bad-payload', `request: ${e.message}`, { cause: e });
      }
      throw e;
    }
    const reply = await handler(msg);
    return reply ? encodeTransportPayload(binding, reply) : undefined;
  };
}
