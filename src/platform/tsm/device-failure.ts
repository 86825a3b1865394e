/**
 * A device exchange that failed, told apart from a bug in the TSM: the DSM's error
 * responses, a response that does not verify or parse, and a carrier that lost the message
 * are things a TSM meets from a real device or a hostile host, and become a 'device-error'
 * refusal; anything else (RangeError, TypeError, SpdmUsageError: the TSM misused its own
 * engine) is a bug and propagates.
 */
import { SpdmErrorResponse, SpdmVerifyError } from '../../spdm/requester/index.ts';
import { IdeKmAckError, TdispErrorResponse, TsmProtocolError } from './errors.ts';
import { refuse, type TsmResult } from './result.ts';

/** Errors thrown outside platform/ that only carry their name here (transport/, session). */
const FOREIGN = new Set(['TransportError', 'SessionError']);

/** `e` as a 'device-error' refusal, or rethrown when it is not a device failure. */
export function deviceFailure<T>(e: unknown, during: string): TsmResult<T> {
  if (
    e instanceof SpdmErrorResponse ||
    e instanceof SpdmVerifyError ||
    e instanceof TdispErrorResponse ||
    e instanceof IdeKmAckError ||
    e instanceof TsmProtocolError ||
    (e instanceof Error && FOREIGN.has(e.name))
  ) {
    return refuse('device-error', `${during}: ${e.message}`);
  }
  throw e;
}
