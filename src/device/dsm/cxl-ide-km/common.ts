/**
 * Shared pieces of the CXL_IDE_KM handlers (CXL 3.x 11.4): the request context, and building
 * a Step that answers with a CXL_IDE_KM object or with an SPDM ERROR.
 */
import {
  type CxlIdeKmMessage,
  decodeCxlIdeKm,
  encodeCxlIdeKm,
} from '../../../wire/cxl-idekm/messages.ts';
import { isWireError, type WireError } from '../../../wire/errors.ts';
import { SPDM_ERROR_CODE } from '../../../wire/spdm/constants.ts';
import { type DsmEvent, malformedAt } from '../events.ts';
import type { DsmEnv, DsmState, Step } from '../state.ts';
import type { SessionRef } from '../tdi.ts';
import type { CxlIdeCapability } from './keys.ts';

export interface CxlIdeKmContext {
  env: DsmEnv;
  /** The device's CXL IDE (the handler is only registered when there is one). */
  cap: CxlIdeCapability;
  /** Undefined when the request came outside a secured session. */
  session?: SessionRef;
}

type RequestEvent = Extract<DsmEvent, { kind: 'CXL_IDE_KM_REQUEST' }>;

export function cxlReply(
  state: DsmState,
  c: CxlIdeKmContext,
  message: CxlIdeKmMessage,
  event: Omit<RequestEvent, 'kind' | 'session'>,
  more: DsmEvent[] = [],
): Step {
  return {
    state,
    result: { kind: 'response', message: encodeCxlIdeKm(message) },
    effects: [],
    events: [{ kind: 'CXL_IDE_KM_REQUEST', session: c.session, ...event }, ...more],
  };
}

/** A request answered with SPDM ERROR InvalidRequest; `why` is a reason or the WireError. */
export function cxlInvalid(
  state: DsmState,
  c: CxlIdeKmContext,
  object: string,
  why: string | WireError,
): Step {
  const event: RequestEvent =
    typeof why === 'string'
      ? { kind: 'CXL_IDE_KM_REQUEST', session: c.session, object, result: `InvalidRequest: ${why}` }
      : {
          kind: 'CXL_IDE_KM_REQUEST',
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

/** Decodes the request; a WireError becomes the InvalidRequest Step, anything else propagates. */
export function decodeCxlRequest<T extends CxlIdeKmMessage>(
  s: DsmState,
  raw: Uint8Array,
  c: CxlIdeKmContext,
  object: string,
): { ok: T } | { refused: Step } {
  try {
    return { ok: decodeCxlIdeKm(raw) as T };
  } catch (e) {
    if (!isWireError(e)) throw e;
    return { refused: cxlInvalid(s, c, object, e) };
  }
}
