/**
 * Shared pieces of the IDE_KM handlers (PCIe 6.x 6.33.3): the request context, and building
 * a Step that answers with an IDE_KM object or with an SPDM ERROR.
 */

import { isWireError, type WireError } from '../../../wire/errors.ts';
import { decodeIdeKm, encodeIdeKm, type IdeKmMessage } from '../../../wire/idekm/messages.ts';
import { SPDM_ERROR_CODE } from '../../../wire/spdm/constants.ts';
import { type DsmEvent, malformedAt } from '../events.ts';
import type { DsmEnv, DsmState, HwEffect, Step } from '../state.ts';
import type { SessionRef } from '../tdi.ts';

export interface IdeKmContext {
  env: DsmEnv;
  /** Undefined when the request came outside a secured session. */
  session?: SessionRef;
}

export function ideKmReply(
  state: DsmState,
  c: IdeKmContext,
  message: IdeKmMessage,
  event: Omit<Extract<DsmEvent, { kind: 'IDE_KM_REQUEST' }>, 'kind' | 'session'>,
  effects: HwEffect[] = [],
  more: DsmEvent[] = [],
): Step {
  return {
    state,
    result: { kind: 'response', message: encodeIdeKm(message, { keyOrder: c.env.keyOrder }) },
    effects,
    events: [{ kind: 'IDE_KM_REQUEST', session: c.session, ...event }, ...more],
  };
}

/**
 * A request the responder cannot answer with an IDE_KM object: SPDM ERROR InvalidRequest.
 * `why` is the reason, or the decoder's WireError, whose field and offset go into the event.
 */
export function ideKmInvalid(
  state: DsmState,
  c: IdeKmContext,
  object: string,
  why: string | WireError,
): Step {
  const event: DsmEvent =
    typeof why === 'string'
      ? { kind: 'IDE_KM_REQUEST', session: c.session, object, result: `InvalidRequest: ${why}` }
      : {
          kind: 'IDE_KM_REQUEST',
          session: c.session,
          object,
          result: 'InvalidRequest: malformed',
          malformed: malformedAt(why),
        };
  return {
    state,
    result: { kind: 'spdm-error', errorCode: SPDM_ERROR_CODE.InvalidRequest },
    effects: [],
    events: [event],
  };
}

/**
 * Decodes the request as object `T`; a WireError (peer bytes) becomes the InvalidRequest
 * Step, anything else is a DSM bug and propagates.
 */
export function decodeRequest<T extends IdeKmMessage>(
  s: DsmState,
  raw: Uint8Array,
  c: IdeKmContext,
  object: string,
): { ok: T } | { refused: Step } {
  try {
    return { ok: decodeIdeKm(raw, { keyOrder: c.env.keyOrder }) as T };
  } catch (e) {
    if (!isWireError(e)) throw e;
    return { refused: ideKmInvalid(s, c, object, e) };
  }
}
