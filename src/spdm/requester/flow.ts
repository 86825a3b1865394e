/**
 * The shape of one requester flow (one file per request in this folder, as libspdm's
 * libspdm_req_*.c): `start` checks the state and builds the first request, `absorb` takes
 * each expected response, verifies it and updates the state, then either finishes the
 * call or asks for the next message of it (the next certificate portion, FINISH after
 * KEY_EXCHANGE_RSP); `abort` says what a failed call leaves behind. Progress between two
 * messages is plain data, kept in the requester's in-flight call.
 */
import type { RequesterCall, RequesterResults } from './calls.ts';
import type { RequesterContext } from './context.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';

/** What a flow does next: send a message (and remember `progress`), or end with `result`. */
export type FlowStep<P, R> = { send: Outgoing; progress: P } | { result: R };

export interface Flow<K extends RequesterCall['kind'], P> {
  /** @throws SpdmUsageError when the call does not fit the state (nothing is sent). */
  start(
    ctx: RequesterContext,
    call: Extract<RequesterCall, { kind: K }>,
  ): FlowStep<P, RequesterResults[K]>;
  /** @throws SpdmVerifyError when the response does not verify. */
  absorb(
    ctx: RequesterContext,
    call: Extract<RequesterCall, { kind: K }>,
    progress: P,
    /** The exchange that `received` answers (the request as sent). */
    exchange: ExchangeProgress,
    received: Received<unknown>,
  ): FlowStep<P, RequesterResults[K]>;
  /** What a failure leaves (transcripts started over, a session dropped); default nothing. */
  abort?(
    ctx: RequesterContext,
    call: Extract<RequesterCall, { kind: K }>,
    progress: P,
    error: unknown,
  ): void;
}
