/**
 * What transport/ adds to the transport contract of wire/transport.ts: the error for bytes
 * that could not be moved, and the tap that observes every binding payload.
 */
import type { Binding } from '../wire/transport.ts';

export type {
  Binding,
  RequesterTransport,
  ResponderHandler,
  TransportMessage,
} from '../wire/transport.ts';

/** Observer of every binding payload crossing a transport (for traces and pcap export). */
export type WireTap = (e: {
  direction: 'request' | 'response';
  binding: Binding;
  payload: Uint8Array;
}) => void;

export type TransportErrorCode =
  | 'timeout' // the peer did not answer in time
  | 'closed' // the connection is closed (by us, the peer, or after an earlier failure)
  | 'hangup-mid-frame' // the peer hung up inside a frame
  | 'transport-mismatch' // the peer's frames carry another transport type
  | 'handshake' // the spdm-emu TEST hello exchange failed
  | 'unexpected-command' // a socket command other than the one expected (e.g. UNKNOWN)
  | 'no-response' // the responder chose to send nothing (in-process)
  | 'bad-payload' // a payload that does not decode for the binding
  | 'device-error'; // a DOE mailbox signalled DOE Error (PCIe 6.30.2) and was aborted

/** A failure to move bytes (as opposed to a WireError, which is bad bytes in a message). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}
