/**
 * The message-level contract between the SPDM engines (spdm/) and whatever moves their
 * bytes (transport/: an in-process pair, the spdm-emu TCP socket, a DOE mailbox). Shapes
 * only: both layers import it from here, neither imports the other.
 *
 * A TransportMessage is what one SPDM exchange step hands over: a bare SPDM message, or a
 * DSP0277 secured record laid out for the binding (secured.ts). The transport adds and
 * removes only its own framing: the DOE header (PCIe 6.31.3: type 1 plain / type 2 secured)
 * or the MCTP message type byte (DSP0275: 0x05 plain / 0x06 secured).
 *
 * DOE padding, the one place where framing leaks: a DOE object counts dwords, so a plain
 * SPDM message arrives with 0-3 zero bytes after it and nothing in the DOE header says how
 * many. The transport delivers the padded bytes and sets `maxPad`; the SPDM engine decodes
 * by the length the message's own fields imply (spdm/codec.ts decodeSpdmPadded) and checks
 * that what is left is at most `maxPad` zero bytes. Secured records are self-delimiting, so
 * the transport trims those exactly; MCTP needs no padding at all.
 */
import type { SecuredBinding } from './secured.ts';

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
   * Sends one message and resolves with the peer's reply. Rejects when the bytes could not
   * be moved (transport/ throws its TransportError); WireError never escapes raw.
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
