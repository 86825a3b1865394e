/**
 * The SPDM requester as transitions (DSP0274 1.0-1.3 with DSP0277 secured messages),
 * modelled on libspdm's requester and, for its shape, on oxidecomputer/spdm's sans-IO
 * state machines, as the responder's step.ts:
 *
 *   requesterStart(state, config, call)   -> { state, out, events } (or `done` at once)
 *   requesterReceive(state, config, msg)  -> { state, out?, wait?, done?, events }
 *   requesterAbort(state, config, error)  -> { state, events }
 *
 * No I/O happens here: the caller carries `out` to the responder and hands back its reply,
 * until `done` holds the call's result; `wait` asks it to sleep first (ResponseNotReady).
 * A call of several messages (VCA, a chunked certificate, KEY_EXCHANGE then FINISH,
 * KEY_UPDATE then VerifyNewKey) continues from the data alone. SpdmRequester
 * (requester.ts) is the driver that owns a transport and holds the state.
 *
 * A step never changes the state it is given: it works on a deep copy and returns it. When it throws (SpdmUsageError before anything is sent; SpdmVerifyError or
 * SpdmErrorResponse for a reply), the caller's state is as it was, with the call still in
 * flight; `requesterAbort` then ends the call and applies what a failure leaves behind:
 * the session it ran in dropped when its records can no longer be trusted, the counters
 * kept in step with a reply whose record did open, a failed FINISH's session dropped, an
 * UpdateAllKeys rolled back, M or B and C started over.
 */
import type { TransportMessage } from '../../wire/transport.ts';
import type { RequesterConfig } from '../config.ts';
import type { SpdmEvent } from '../events.ts';
import { TranscriptFullError } from '../transcript.ts';
import type { RequesterCall, RequesterDone } from './calls.ts';
import { RequesterContext, type RequesterOptions } from './context.ts';
import { SpdmUsageError } from './errors.ts';
import { receive, reopen, send, sessionDropCause } from './exchange.ts';
import type { Flow, FlowStep } from './flow.ts';
import { FLOWS } from './flows.ts';
import { copyRequesterData, type RequesterData } from './state.ts';

/** What one step produces. */
export interface RequesterStepResult {
  /** The requester's next state (a new object; the input is left as it was). */
  state: RequesterData;
  /** The next message of the call to send; absent once the call is done. */
  out?: TransportMessage;
  /** Sleep this many ms before sending `out` (ResponseNotReady's RDT wait, capped). */
  wait?: number;
  /** The call ended: its result. */
  done?: RequesterDone;
  /** What happened, in order (each was also handed to `config.onEvent` as it happened). */
  events: SpdmEvent[];
}

type AnyFlow = Flow<RequesterCall['kind'], unknown>;

function flowOf(call: RequesterCall): AnyFlow {
  return FLOWS[call.kind] as AnyFlow;
}

/** Runs `f` on a copy of `state`; the copy is the result's state. */
function onCopy<T>(
  state: RequesterData,
  config: RequesterConfig,
  options: RequesterOptions,
  f: (ctx: RequesterContext) => T,
): T & { state: RequesterData; events: SpdmEvent[] } {
  const ctx = new RequesterContext(config, options, copyRequesterData(state));
  const r = f(ctx);
  ctx.settleRandom();
  return { ...r, state: ctx.data, events: ctx.events };
}

/** Sends the flow's next request, or ends the call with its result. */
function advance(
  ctx: RequesterContext,
  call: RequesterCall,
  step: FlowStep<unknown, unknown>,
): Pick<RequesterStepResult, 'out' | 'done'> {
  if ('result' in step) {
    ctx.data.call = undefined;
    return { done: { kind: call.kind, call, result: step.result } as RequesterDone };
  }
  const { exchange, out } = send(ctx, step.send);
  ctx.data.call = { call, exchange, progress: step.progress };
  return { out };
}

/**
 * Starts a call: the first message to send (or, for a chain the cache already holds, the
 * result at once).
 * @param config a normalised configuration (see requesterConfig); it is only read
 * @throws SpdmUsageError when the call does not fit the state or another call is in
 *   flight; nothing is sent and `state` is unchanged.
 */
export function requesterStart(
  state: RequesterData,
  config: RequesterConfig,
  call: RequesterCall,
  options: RequesterOptions = {},
): RequesterStepResult {
  if (state.call) {
    throw new SpdmUsageError(`a ${state.call.call.kind} call is in flight: one call at a time`);
  }
  return onCopy(state, config, options, (ctx) => advance(ctx, call, flowOf(call).start(ctx, call)));
}

/**
 * Takes the reply to the message last sent.
 * @throws SpdmUsageError when no call is in flight or the reply would pass the bound of
 *   transcript B or M (transcript.ts); SpdmErrorResponse when the peer
 *   answered ERROR (after Busy retries and ResponseNotReady follow-ups); SpdmVerifyError
 *   when the reply does not verify. `state` is unchanged: end the call with requesterAbort.
 */
export function requesterReceive(
  state: RequesterData,
  config: RequesterConfig,
  message: TransportMessage,
  options: RequesterOptions = {},
): RequesterStepResult {
  if (!state.call) throw new SpdmUsageError('no call is waiting for a response');
  return onCopy(state, config, options, (ctx) => {
    const flight = ctx.data.call!;
    // An exact copy: what the state keeps of the reply (transcripts, chains, digests) are
    // views of it, and a view of a transport's pooled buffer would carry the whole pool
    // into every later copy of the state.
    const reply = receive(ctx, flight.exchange, {
      ...message,
      bytes: new Uint8Array(message.bytes),
    });
    if ('resend' in reply) {
      return reply.wait === undefined
        ? { out: reply.resend }
        : { out: reply.resend, wait: reply.wait };
    }
    const flow = flowOf(flight.call);
    let step: FlowStep<unknown, unknown>;
    try {
      step = flow.absorb(ctx, flight.call, flight.progress, flight.exchange, reply.received);
    } catch (e) {
      // B or M is full: the caller repeated GET_CERTIFICATE or unsigned GET_MEASUREMENTS
      // without a GET_DIGESTS or another request in between (libspdm: BUFFER_FULL).
      if (e instanceof TranscriptFullError) throw new SpdmUsageError(e.message, { cause: e });
      throw e;
    }
    return advance(ctx, flight.call, step);
  });
}

/**
 * Ends the call in flight after a failure (see the file header for what it leaves).
 * @param error what requesterReceive threw, or the transport's error when the bytes did
 *   not move
 * @param reply the message requesterReceive failed on, if one came back
 */
export function requesterAbort(
  state: RequesterData,
  config: RequesterConfig,
  error: unknown,
  reply?: TransportMessage,
  options: RequesterOptions = {},
): { state: RequesterData; events: SpdmEvent[] } {
  return onCopy(state, config, options, (ctx) => {
    const flight = ctx.data.call;
    if (!flight) return {};
    ctx.data.call = undefined;
    const { sessionId, clear } = flight.exchange.route;
    if (sessionId !== undefined && !clear) {
      if (reply) reopen(ctx, sessionId, reply);
      const cause = sessionDropCause(error);
      if (cause) ctx.dropSession(sessionId, cause);
    }
    flowOf(flight.call).abort?.(ctx, flight.call, flight.progress, error);
    return {};
  });
}

/** Ends every session locally (secrets wiped), e.g. when the connection closes. */
export function requesterForgetSessions(
  state: RequesterData,
  config: RequesterConfig,
): { state: RequesterData; events: SpdmEvent[] } {
  return onCopy(state, config, {}, (ctx) => {
    for (const id of [...ctx.data.sessions.keys()]) ctx.dropSession(id, 'reset');
    return {};
  });
}
