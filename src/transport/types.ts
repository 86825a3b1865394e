/**
 * The message-level interface between the SPDM engines and whatever moves their bytes
 * (an in-process pair, the spdm-emu TCP socket, a DOE mailbox).
 *
 * A TransportMessage is what one SPDM exchange step hands over: a bare SPDM message, or a
 * DSP0277 secured record laid out for the binding (wire/secured.ts). The transport adds and
 * removes only its own framing: the DOE header (type 1 plain / type 2 secured) or the MCTP
 * message type byte (0x05 plain / 0x06 secured).
 *
 * DOE padding, the one place where framing leaks: a DOE object counts dwords, so a plain
 * SPDM message arrives with 0-3 zero bytes after it and nothing in the DOE header says how
 * many. The transport delivers the padded bytes and sets `maxPad` to how many trailing bytes
 * may be padding; the SPDM layer decodes with `decodeUnpadded`, which finds the one length
 * its decoder accepts. Secured records are self-delimiting, so the transport trims those
 * exactly and MCTP needs no padding at all.
 */
import type { SecuredBinding } from '../wire/secured.ts';

export type Binding = SecuredBinding; // 'pci_doe' | 'mctp'

export interface TransportMessage {
  /** False: `bytes` is an SPDM message. True: a DSP0277 record for the binding. */
  secured: boolean;
  bytes: Uint8Array;
  /**
   * Received plain SPDM over PCI DOE only: up to this many trailing bytes of `bytes` (all
   * zero) may be DOE dword padding. Absent or 0: `bytes` is exact. Ignored when sending.
   */
  maxPad?: number;
}

export interface RequesterTransport {
  readonly binding: Binding;
  /**
   * Sends one message and resolves with the peer's reply.
   * @throws TransportError ('timeout', 'closed', 'hangup-mid-frame', 'transport-mismatch',
   * 'unexpected-command', 'no-response', 'bad-payload'); WireError never escapes raw.
   */
  exchange(m: TransportMessage, timeoutMs?: number): Promise<TransportMessage>;
  /**
   * Sends one raw binding payload (a whole DOE object, or an MCTP type byte + body) and
   * resolves with the raw reply. For DOE discovery, conformance tests and malformed input.
   */
  exchangeRaw?(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
  /** Ends the connection politely (spdm-emu: SHUTDOWN and its echo). Idempotent. */
  close(): Promise<void>;
}

/** The responder side: answers one message, or resolves undefined to send nothing. */
export type ResponderHandler = (m: TransportMessage) => Promise<TransportMessage | undefined>;

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

/**
 * Decodes a received plain SPDM message that may carry DOE padding: tries the candidate
 * lengths `bytes.length - maxPad` .. `bytes.length`, shortest first, and returns the first
 * value `decode` accepts with the exact bytes it accepted (what a transcript must hash).
 * Shortest first because the sender pads minimally: zeros at the end are padding unless the
 * message's own length fields say otherwise (a length-delimited decoder rejects every other
 * candidate as truncated or trailing).
 * @throws whatever `decode` threw for the unpadded (full-length) bytes when none fits.
 */
export function decodeUnpadded<T>(
  m: TransportMessage,
  decode: (bytes: Uint8Array) => T,
): { value: T; bytes: Uint8Array } {
  const pad = Math.min(m.maxPad ?? 0, 3, m.bytes.length);
  // The candidates that fail are expected: no stack traces for them (they cost as much as
  // the decoding on every padded DOE message).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (let cut = pad; cut > 0; cut--) {
      // Padding is zeros; a non-zero byte in the cut-off tail rules this length out.
      if (!m.bytes.subarray(m.bytes.length - cut).every((x) => x === 0)) continue;
      const bytes = m.bytes.subarray(0, m.bytes.length - cut);
      try {
        return { value: decode(bytes), bytes: bytes.slice() };
      } catch {
        // not this length; try a longer one
      }
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  return { value: decode(m.bytes), bytes: m.bytes };
}
