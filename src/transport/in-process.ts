/**
 * An in-process requester/responder pair. Every exchange goes through the same bytes a real
 * link carries: message -> binding payload (DOE object / MCTP message) -> responder decodes ->
 * handler -> reply payload -> requester decodes. So in-process runs exercise the codecs, DOE
 * padding and discovery exactly as the socket does.
 */
import { exchangeMessage } from './exchange.ts';
import { type PayloadResponderOptions, payloadResponder } from './responder.ts';
import { serialQueue } from './serial.ts';
import {
  type Binding,
  type RequesterTransport,
  type ResponderHandler,
  TransportError,
  type TransportMessage,
  type WireTap,
} from './types.ts';

export interface InProcessOptions extends PayloadResponderOptions {
  /** Sees every request and response payload. */
  onWire?: WireTap;
}

/** Runs `work` with an optional deadline; a late result is dropped. */
function withTimeout<T>(work: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new TransportError('timeout', `no response within ${timeoutMs} ms`)),
      timeoutMs,
    );
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * A requester transport whose peer is `handler`, in this process.
 * Exchanges run one at a time, like a DOE mailbox.
 */
export function createInProcessPair(
  binding: Binding,
  handler: ResponderHandler,
  opts: InProcessOptions = {},
): RequesterTransport {
  const respond = payloadResponder(binding, handler, opts);
  let closed = false;

  const serial = serialQueue();

  const exchangeRaw = (payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> =>
    serial(async () => {
      if (closed) throw new TransportError('closed', 'in-process transport is closed');
      opts.onWire?.({ direction: 'request', binding, payload });
      const reply = await withTimeout(respond(payload.slice()), timeoutMs);
      if (!reply) throw new TransportError('no-response', 'the responder sent nothing');
      opts.onWire?.({ direction: 'response', binding, payload: reply });
      return reply;
    });

  return {
    binding,
    exchangeRaw,
    exchange: (m: TransportMessage, timeoutMs?: number): Promise<TransportMessage> =>
      exchangeMessage(binding, exchangeRaw, m, timeoutMs),
    async close() {
      closed = true;
    },
  };
}
