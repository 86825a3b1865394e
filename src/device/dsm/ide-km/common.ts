/**
 * Shared pieces of the IDE_KM handlers (PCIe 6.x 6.33.3): the request context, and building
 * a Step that answers with an IDE_KM object or with an SPDM ERROR.
 */

import { encodeIdeKm, type IdeKmMessage } from '../../../wire/idekm/messages.ts';
import { SPDM_ERROR_CODE } from '../../../wire/spdm/constants.ts';
import type { DsmEvent } from '../events.ts';
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

/** A request the responder cannot answer with an IDE_KM object: SPDM ERROR InvalidRequest. */
export function ideKmInvalid(state: DsmState, c: IdeKmContext, object: string, why: string): Step {
  return {
    state,
    result: { kind: 'spdm-error', errorCode: SPDM_ERROR_CODE.InvalidRequest },
    effects: [],
    events: [
      { kind: 'IDE_KM_REQUEST', session: c.session, object, result: `InvalidRequest: ${why}` },
    ],
  };
}
