/**
 * The shape of every platform hardware operation (DESIGN.md principle 2, the convention of
 * spdm/responder/step.ts): `op(state, args) -> { result, events }`, updating the state it is
 * given in place. Every check runs before the first write, so a refused operation leaves the
 * state exactly as it was and says why with the real error name of the interface it models.
 */
import type { PlatformEvent } from './events.ts';

/** A refused operation: the interface's own error name (errno, TDX status) and why. */
export interface Refusal<E extends string = string> {
  ok: false;
  error: E;
  reason: string;
}

/** Success with its payload, or a refusal. */
export type OpResult<T extends object = object, E extends string = string> =
  | ({ ok: true } & T)
  | Refusal<E>;

/** What an operation returns: its result and the events it caused (a refusal's included). */
export interface Outcome<R> {
  result: R;
  events: PlatformEvent[];
}

/** A refusal of operation `op` with its event (state untouched by construction: no write yet). */
export function refuse<E extends string>(
  op: string,
  error: E,
  reason: string,
): Outcome<Refusal<E>> {
  return {
    result: { ok: false, error, reason },
    events: [{ kind: 'refused', op, error, reason }],
  };
}

/** A success carrying `events`. */
export function done<T extends object>(
  payload: T,
  ...events: PlatformEvent[]
): Outcome<{ ok: true } & T> {
  return { result: { ok: true, ...payload }, events };
}
