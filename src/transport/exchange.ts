/**
 * The message-level exchange every requester transport offers on top of its raw payload
 * exchange: frame the message for the binding, exchange, decode the reply's framing.
 */
import { WireError } from '../wire/errors.ts';
import { decodeTransportPayload, encodeTransportPayload } from './binding.ts';
import { type Binding, TransportError, type TransportMessage } from './types.ts';

/**
 * Sends `m` framed for `binding` through `exchangeRaw` and decodes the reply.
 * @throws TransportError 'bad-payload' when the reply's framing does not decode; RangeError
 *   when `m` does not fit the binding; whatever `exchangeRaw` throws.
 */
export async function exchangeMessage(
  binding: Binding,
  exchangeRaw: (payload: Uint8Array, timeoutMs?: number) => Promise<Uint8Array>,
  m: TransportMessage,
  timeoutMs?: number,
): Promise<TransportMessage> {
  const reply = await exchangeRaw(encodeTransportPayload(binding, m), timeoutMs);
  try {
    return decodeTransportPayload(binding, reply);
  } catch (e) {
    if (e instanceof WireError) {
      throw new TransportError('bad-payload', `response: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
