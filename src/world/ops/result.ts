/** What every operation answers, and the small pieces the operation tables share. */
import type { GuestOutcome } from '../../guest/outcome.ts';
import type { HostOutcome } from '../../host/outcome.ts';
import { FLAVOURS } from '../../platform/flavours.ts';
import { WorldError } from '../errors.ts';
import type { StepEvent } from '../invariants.ts';
import type { World, WorldStep } from '../world.ts';

/** The time the guests verify certificates at (a fixed date: a run replays). */
export const ATTEST_AT = new Date(Date.UTC(2026, 0, 1));

/** What one operation answered: success, or the errno and why; every event it caused. */
export interface StepResult {
  ok: boolean;
  errno?: string;
  detail?: string;
  value?: unknown;
  events: StepEvent[];
}

export const fromHost = (o: HostOutcome<unknown>): StepResult =>
  o.ok
    ? { ok: true, value: o.value, events: o.events as StepEvent[] }
    : { ok: false, errno: o.errno, detail: o.detail, events: o.events as StepEvent[] };

export const fromGuest = (o: GuestOutcome<unknown>): StepResult =>
  o.ok
    ? { ok: true, value: o.value, events: o.events as StepEvent[] }
    : { ok: false, errno: o.errno, detail: o.detail, events: o.events as StepEvent[] };

export const refused = (errno: string, detail: string): StepResult => ({
  ok: false,
  errno,
  detail,
  events: [],
});

/** A numeric argument of a step. @throws WorldError when it is not a number */
export const arg = (step: WorldStep, name: string, dflt: number): number => {
  const x = step.args?.[name];
  if (x === undefined) return dflt;
  const n = Number(x);
  if (!Number.isFinite(n))
    throw new WorldError(`${step.do}: argument ${name} '${x}' is not a number`);
  return n;
};

/** The guest side of a step: its machine, records and the device's virtual BDF. */
export function guestOf(w: World, step: WorldStep) {
  const v = w.vm(step);
  const fn = w.tdiFn(step);
  const vdevId = v.vdevs.get(fn);
  if (!v.gm || !v.guest) return { error: refused('ENODEV', `VM '${v.name}' is not running`) };
  // A VM its firmware stopped (a Realm's fatal abort) takes no more steps of its own.
  const halted = v.firmwareVm && FLAVOURS[w.pw.flavour].halted(w.pw.p as never, v.firmwareVm);
  if (halted) return { error: refused('realm-killed', `${halted}: its vCPUs run no more`) };
  if (vdevId === undefined) {
    return { error: refused('ENODEV', `function ${fn} is not assigned to '${v.name}'`) };
  }
  return { v, gm: v.gm, g: v.guest, vdevId };
}

/** A driver access as a step: ok when it completed; the guest's observation otherwise. */
export function observed(
  o: GuestOutcome<{ kind: string; data?: Uint8Array; reason?: string }>,
): StepResult {
  if (!o.ok) return fromGuest(o);
  const seen = o.value;
  return seen.kind === 'ok'
    ? { ok: true, value: seen.data, events: o.events as StepEvent[] }
    : {
        ok: false,
        errno: seen.kind,
        detail: seen.reason ?? seen.kind,
        events: o.events as StepEvent[],
      };
}
