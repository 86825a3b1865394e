/**
 * What the SPDM requester throws (DSP0274 1.0-1.3): a check on a response that failed
 * (SpdmVerifyError, naming the check), an ERROR response from the peer (SpdmErrorResponse,
 * carrying its code), or a call that the connection's state does not allow
 * (SpdmUsageError, a mistake of the caller rather than of the peer). TransportError from
 * src/transport passes through unchanged.
 */
import { spdmCodeName, spdmErrorName } from '../../wire/spdm/constants.ts';
import type { VerifyTarget } from '../events.ts';

/** A response did not verify: `what` names the check, `detail` says how it failed. */
export class SpdmVerifyError extends Error {
  override readonly name = 'SpdmVerifyError';
  constructor(
    readonly what: VerifyTarget,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${what} did not verify: ${detail}`, options);
  }
}

/** The peer answered a request with SPDM ERROR. */
export class SpdmErrorResponse extends Error {
  override readonly name = 'SpdmErrorResponse';
  /** The ERROR code's DSP0274 name (e.g. "UnexpectedRequest"). */
  readonly codeName: string;
  constructor(
    /** RequestResponseCode of the request that was refused. */
    readonly requestCode: number,
    /** Param1 of the ERROR. */
    readonly errorCode: number,
    /** Param2 of the ERROR. */
    readonly errorData: number,
    readonly extendedData: Uint8Array = new Uint8Array(),
  ) {
    const codeName = spdmErrorName(errorCode);
    super(
      `${spdmCodeName(requestCode)} answered with ERROR ${codeName} (0x${errorCode.toString(16).padStart(2, '0')}), data 0x${errorData.toString(16).padStart(2, '0')}`,
    );
    this.codeName = codeName;
  }
}

/** The call does not fit the connection: not negotiated yet, unsupported by the peer, no such session. */
export class SpdmUsageError extends Error {
  override readonly name = 'SpdmUsageError';
}
