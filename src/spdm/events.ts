/**
 * Trace events of the SPDM engines (DSP0274 requests and responses, DSP0277 secured
 * sessions). Typed records only, no free text: the world's trace, the invariants, the
 * viewer and pcap export all read these. Engines hand them to `config.onEvent`.
 */

/** Which engine emitted an event. */
export type SpdmRole = 'requester' | 'responder';

/** What an endpoint concluded about a message it received or an operation it ran. */
export type SpdmVerdict =
  | 'ok'
  /** The message decoded but the engine refused it (answered with an SPDM ERROR). */
  | 'rejected'
  /** Something did not verify (signature, VerifyData, chain, MAC). */
  | 'verify-failed';

/** Why a secured record was not accepted (DSP0277). */
export type RecordRejectReason =
  | 'unknown-session' // no session with that id (libspdm drops it silently)
  | 'not-ready' // the session has no keys for that direction yet
  | 'malformed' // the record layout or its plaintext did not parse
  | 'sequence' // MCTP: the header sequence number is not the expected one
  | 'unsupported-application' // MCTP: an application message type (not SPDM) no one here serves
  | 'decrypt-failed'; // the MAC did not verify (replay, reorder, tamper)

/** What a requester checked (one name per check it makes). */
export type VerifyTarget =
  | 'version'
  | 'capabilities'
  | 'algorithms'
  | 'digests'
  | 'certificate-chain'
  | 'cert-chain-hash'
  | 'challenge-signature'
  | 'measurements-signature'
  | 'measurement-summary-hash'
  | 'key-exchange-signature'
  | 'key-exchange-verify-data'
  | 'finish-verify-data'
  | 'psk-exchange-verify-data'
  | 'response-size'
  // requester checks beyond the cryptographic ones
  | 'response' // the response code, an echoed field (slot, tag, context) or its layout
  | 'secured-record' // a response record that did not open (MAC, sequence, session id)
  | 'secured-message-version' // the DSP0277 version KEY_EXCHANGE_RSP selected
  | 'measurements'; // the blocks do not fit the request (index, count, digest size)

export type SpdmEvent =
  /** A whole SPDM message crossed the boundary (plaintext, as the engine saw it). */
  | {
      type: 'message';
      role: SpdmRole;
      direction: 'in' | 'out';
      connectionId: number;
      sessionId?: number;
      code: number;
      name: string;
      bytes: Uint8Array;
    }
  /** The engine answered a request with SPDM ERROR. */
  | {
      type: 'error-response';
      role: SpdmRole;
      connectionId: number;
      sessionId?: number;
      requestCode: number;
      errorCode: number;
      errorName: string;
      errorData: number;
    }
  /** The connection state changed (responder: NOT_STARTED -> ... -> AUTHENTICATED). */
  | { type: 'connection-state'; role: SpdmRole; connectionId: number; from: string; to: string }
  /** A secured session changed phase. */
  | {
      type: 'session';
      role: SpdmRole;
      connectionId: number;
      sessionId: number;
      kind: 'dhe' | 'psk';
      phase: 'handshake' | 'established' | 'ended';
      /** Why it ended, when it did not end through END_SESSION. */
      cause?:
        | 'end-session'
        | 'finish-failed'
        | 'decrypt-error'
        | 'reset'
        | 'version-restart'
        | 'heartbeat-timeout';
      /**
       * On 'established' (responder): the request whose answer switched to the data keys.
       * FINISH belongs to KEY_EXCHANGE sessions, PSK_FINISH (or PSK_EXCHANGE alone, without
       * context) to PSK sessions (invariant I13).
       */
      establishedBy?: 'FINISH' | 'PSK_FINISH' | 'PSK_EXCHANGE';
    }
  /** A KEY_UPDATE operation took effect on one side. */
  | {
      type: 'key-update';
      role: SpdmRole;
      connectionId: number;
      sessionId: number;
      operation: number;
      /** 'request' = requester-to-responder keys, 'response' = the other way. */
      directions: ('request' | 'response')[];
      /** 'updated', 'verified' (old key discarded) or 'rolled-back' (old key restored). */
      action: 'updated' | 'verified' | 'rolled-back';
    }
  /** A secured record was refused before reaching the SPDM layer. */
  | {
      type: 'record-rejected';
      role: SpdmRole;
      connectionId: number;
      sessionId: number;
      reason: RecordRejectReason;
    }
  /**
   * An MCTP application message (PLDM, ...) inside a secured session, as the responder's
   * application dispatch (responder/mctp-application.ts) saw it or answered it. `dropped`
   * says why an incoming one gets no answer.
   */
  | {
      type: 'application';
      role: SpdmRole;
      direction: 'in' | 'out';
      connectionId: number;
      sessionId: number;
      /** DSP0236 MCTP message type (0x01 PLDM). */
      mctpType: number;
      /** 'PLDM GetTID', ... */
      name: string;
      bytes: Uint8Array;
      dropped?: string;
    }
  /** A requester check (signature, chain, VerifyData, summary hash). */
  | {
      type: 'verify';
      role: SpdmRole;
      connectionId: number;
      sessionId?: number;
      what: VerifyTarget;
      verdict: SpdmVerdict;
    };

export type SpdmEventSink = (e: SpdmEvent) => void;
