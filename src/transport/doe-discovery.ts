/**
 * Requester side of DOE Discovery (PCIe 6.30.1.1): walk the responder's protocol list from
 * index 0 until NextIndex is 0, as Linux drivers/pci/doe.c pci_doe_cache_features does.
 */
import {
  type DoeDiscoveryResponse,
  decodeDoeDiscoveryResponse,
  decodeDoeObject,
  encodeDoeDiscoveryRequest,
  encodeDoeObject,
  isDoeDiscovery,
  PCI_DOE_TYPE_DISCOVERY,
  PCI_DOE_VENDOR_ID_PCISIG,
} from '../wire/doe.ts';
import { WireError } from '../wire/errors.ts';
import { type RequesterTransport, TransportError } from './types.ts';

/**
 * Lists the data object protocols a DOE responder supports, in index order.
 * @throws TransportError 'bad-payload' when a reply is not a Discovery response or the
 * indices loop; 'unexpected-command' when the transport is not PCI DOE; and whatever the
 * transport's exchangeRaw throws.
 */
export async function doeDiscovery(
  t: RequesterTransport,
  timeoutMs?: number,
): Promise<DoeDiscoveryResponse[]> {
  if (t.binding !== 'pci_doe' || !t.exchangeRaw) {
    throw new TransportError('unexpected-command', 'DOE discovery needs a raw PCI DOE transport');
  }
  const out: DoeDiscoveryResponse[] = [];
  const seen = new Set<number>();
  let index = 0;
  do {
    seen.add(index);
    const request = encodeDoeObject({
      vendorId: PCI_DOE_VENDOR_ID_PCISIG,
      type: PCI_DOE_TYPE_DISCOVERY,
      payload: encodeDoeDiscoveryRequest({ index, version: 0 }),
    });
    const reply = await t.exchangeRaw(request, timeoutMs);
    let rsp: DoeDiscoveryResponse;
    try {
      const obj = decodeDoeObject(reply);
      // Linux requires the reply's vendor/type to match the request's.
      if (!isDoeDiscovery(obj)) {
        throw new TransportError(
          'bad-payload',
          `reply to Discovery index ${index} is type ${obj.type}`,
        );
      }
      rsp = decodeDoeDiscoveryResponse(obj.payload);
    } catch (e) {
      if (e instanceof WireError) {
        throw new TransportError('bad-payload', `Discovery reply: ${e.message}`, { cause: e });
      }
      throw e;
    }
    out.push(rsp);
    index = rsp.nextIndex;
    if (index !== 0 && seen.has(index)) {
      throw new TransportError('bad-payload', `Discovery NextIndex ${index} loops`);
    }
  } while (index !== 0);
  return out;
}
