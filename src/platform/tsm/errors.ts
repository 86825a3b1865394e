/**
 * What the TSM-side IDE_KM and TDISP clients throw beyond the SPDM requester's own errors
 * (SpdmErrorResponse, SpdmVerifyError, TransportError pass through unchanged):
 * - TdispErrorResponse: the DSM answered TDISP_ERROR (PCIe 6.x 11.3.18), carrying its code;
 * - IdeKmAckError: a KP_ACK with a Status other than Success (PCIe 6.x 6.33.3);
 * - TsmProtocolError: a response that does not answer the request (wrong protocol, object
 *   or message type, echoed field, malformed bytes).
 */
import { isWireError } from '../../wire/errors.ts';
import { KP_ACK_STATUS } from '../../wire/idekm/constants.ts';
import { TDISP_ERROR_CODE_NAMES, tdispMessageName } from '../../wire/tdisp/constants.ts';

/** The DSM answered a TDISP request with TDISP_ERROR. */
export class TdispErrorResponse extends Error {
  override readonly name = 'TdispErrorResponse';
  /** The ErrorCode's spec name (e.g. "InvalidInterfaceState"), or UNKNOWN(0x..). */
  readonly codeName: string;
  constructor(
    /** MessageType of the refused request. */
    readonly requestCode: number,
    readonly errorCode: number,
    readonly errorData: number,
    readonly extendedErrorData: Uint8Array = new Uint8Array(),
  ) {
    const codeName =
      TDISP_ERROR_CODE_NAMES[errorCode] ?? `UNKNOWN(0x${errorCode.toString(16).padStart(4, '0')})`;
    super(
      `${tdispMessageName(requestCode)} answered with TDISP_ERROR ${codeName} (0x${errorCode.toString(16)}), data 0x${errorData.toString(16)}`,
    );
    this.codeName = codeName;
  }
}

const KP_ACK_STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(KP_ACK_STATUS).map(([k, v]) => [v, k]),
);

/** KP_ACK Status as its spec name. */
export function kpAckStatusName(status: number): string {
  return KP_ACK_STATUS_NAMES[status] ?? `UNKNOWN(0x${status.toString(16).padStart(2, '0')})`;
}

/** A KEY_PROG was acknowledged with a failure Status. */
export class IdeKmAckError extends Error {
  override readonly name = 'IdeKmAckError';
  readonly statusName: string;
  constructor(
    readonly streamId: number,
    /** e.g. "PR.RX K0". */
    readonly slot: string,
    readonly status: number,
  ) {
    const statusName = kpAckStatusName(status);
    super(`KEY_PROG stream ${streamId} ${slot}: KP_ACK ${statusName} (${status})`);
    this.statusName = statusName;
  }
}

/** A response that does not answer the request it was sent for, or a session that is gone. */
export class TsmProtocolError extends Error {
  override readonly name = 'TsmProtocolError';
  constructor(
    readonly protocol: 'IDE_KM' | 'TDISP' | 'PCI-SIG' | 'SPDM',
    /** The request it answered (IDE_KM object or TDISP message name). */
    readonly request: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${protocol} ${request}: ${detail}`, options);
  }
}

/**
 * Runs `decode` over a response's bytes: a WireError (the peer's bytes are malformed)
 * becomes a TsmProtocolError naming the request, its message after `prefix`.
 * @throws TsmProtocolError for a WireError; anything else `decode` throws, unchanged.
 */
export function decodeResponse<T>(
  protocol: TsmProtocolError['protocol'],
  request: string,
  decode: () => T,
  prefix = '',
): T {
  try {
    return decode();
  } catch (e) {
    if (!isWireError(e)) throw e;
    throw new TsmProtocolError(protocol, request, `${prefix}${e.message}`, { cause: e });
  }
}
