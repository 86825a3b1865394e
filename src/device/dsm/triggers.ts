/**
 * ERROR triggers (PCIe 6.x 11.2.6 "TDI configuration changes", 11.4.3 / 11.4.5; SYSTEM.md
 * section 2): every security event the config space reports moves a CONFIG_LOCKED or RUN
 * TDI of that function to ERROR (the hardware reports a PF FLR reaching its VFs as one
 * record per VF); an IDE stream leaving Secure moves every TDI bound to it to ERROR; the
 * end of the SPDM session a TDI was locked on does too. Events in CONFIG_UNLOCKED or ERROR
 * change nothing. The 'spdm-emu' behaviour never enters ERROR.
 */

import type { ConfigEventRecord } from '../events.ts';
import type { Behaviour } from './behaviour.ts';
import { withoutPort as withoutCxlPort } from './cxl-ide-km/keys.ts';
import type { DsmEvent } from './events.ts';
import { SLOT_NAMES, withoutStream } from './ide-km/keys.ts';
import type { DsmState, HwEffect } from './state.ts';
import { boundStreams, errorTdi, type SessionRef, sameSession, type Tdi } from './tdi.ts';

export interface TriggerResult {
  state: DsmState;
  effects: HwEffect[];
  events: DsmEvent[];
}

/** Short text naming an event, for the ERROR cause. */
export function describeConfigEvent(r: ConfigEventRecord): string {
  const e = r.event;
  const detail =
    e.kind === 'BAR_WRITE'
      ? ` BAR${e.bar}`
      : e.kind === 'FLR' && e.fromPf
        ? ' (PF FLR)'
        : e.kind === 'IDE_STREAM_INSECURE'
          ? ` stream ${e.streamId}`
          : e.kind === 'CAPABILITY_CHANGE'
            ? ` ${e.capability}`
            : e.kind === 'POWER_STATE_LOSS'
              ? ` ${e.to}`
              : e.kind === 'SECURITY_CONFIG_CHANGE'
                ? ` ${e.register}`
                : '';
  return `${e.kind}${detail} on fn ${r.fn}`;
}

/** Moves the chosen TDIs to ERROR (only those in CONFIG_LOCKED / RUN change). */
export function toError(
  s: DsmState,
  pick: (tdi: Tdi) => boolean,
  cause: string,
  behaviour: Behaviour,
): { state: DsmState; events: DsmEvent[]; moved: number[] } {
  if (!behaviour.entersError) return { state: s, events: [], moved: [] };
  const tdis = { ...s.tdis };
  const events: DsmEvent[] = [];
  const moved: number[] = [];
  for (const tdi of Object.values(s.tdis)) {
    if ((tdi.state !== 'CONFIG_LOCKED' && tdi.state !== 'RUN') || !pick(tdi)) continue;
    tdis[tdi.fn] = errorTdi(tdi, cause);
    moved.push(tdi.fn);
    events.push({ kind: 'TDI_STATE', fn: tdi.fn, from: tdi.state, to: 'ERROR', cause });
  }
  return { state: moved.length ? { ...s, tdis } : s, events, moved };
}

/** Applies one config-space security event. */
export function applyConfigEvent(
  s: DsmState,
  r: ConfigEventRecord,
  behaviour: Behaviour,
): TriggerResult {
  const cause = describeConfigEvent(r);
  const e = r.event;
  if (e.kind === 'IDE_STREAM_INSECURE') {
    // A stream the DSM still counts as Secure lost it outside IDE_KM (link down, the host
    // rewriting the stream's IDE registers): its keys are gone with it.
    let state = s;
    const events: DsmEvent[] = [];
    if (s.ideKm.streams[e.streamId]?.secure) {
      state = { ...s, ideKm: withoutStream(s.ideKm, e.streamId) };
      events.push({ kind: 'IDE_STREAM_STATE', streamId: e.streamId, state: 'Insecure', cause });
    }
    const moved = toError(state, (t) => boundStreams(t).includes(e.streamId), cause, behaviour);
    return {
      state: moved.state,
      effects: [],
      events: [
        ...events,
        { kind: 'ERROR_TRIGGER', fn: r.fn, event: e, tdis: moved.moved },
        ...moved.events,
      ],
    };
  }
  const moved = toError(s, (t) => t.fn === r.fn, cause, behaviour);
  return {
    state: moved.state,
    effects: [],
    events: [{ kind: 'ERROR_TRIGGER', fn: r.fn, event: e, tdis: moved.moved }, ...moved.events],
  };
}

/**
 * The SPDM session ended (PCIe 11.4.5): the streams it keyed become Insecure (their keys
 * are erased) and the TDIs it locked go to ERROR.
 */
export function applySessionEnd(
  s: DsmState,
  session: SessionRef,
  behaviour: Behaviour,
): TriggerResult {
  const cause = `SPDM session 0x${session.sessionId.toString(16)} ended`;
  let ideKm = s.ideKm;
  const effects: HwEffect[] = [];
  const events: DsmEvent[] = [];
  const dropped: number[] = [];
  for (const [id, stream] of Object.entries(s.ideKm.streams)) {
    const keyedBySession =
      sameSession(stream.owner, session) ||
      SLOT_NAMES.some((n) => {
        const k = stream.slots[n];
        return (
          sameSession(k?.k0?.programmedBy, session) || sameSession(k?.k1?.programmedBy, session)
        );
      });
    if (!keyedBySession) continue;
    const streamId = Number(id);
    ideKm = withoutStream(ideKm, streamId);
    dropped.push(streamId);
    if (stream.secure) {
      effects.push({ kind: 'setStreamState', streamId, state: 'Insecure' });
      events.push({ kind: 'IDE_STREAM_STATE', streamId, state: 'Insecure', cause });
    }
  }
  // CXL.cachemem IDE keyed on the session: its keys go too, each active direction Insecure.
  let cxlIdeKm = s.cxlIdeKm;
  for (const [id, port] of Object.entries(s.cxlIdeKm.ports)) {
    const keys = [port.rx.pending, port.rx.active, port.tx.pending, port.tx.active];
    const keyedBySession =
      sameSession(port.owner, session) || keys.some((k) => sameSession(k?.programmedBy, session));
    if (!keyedBySession) continue;
    const portIndex = Number(id);
    cxlIdeKm = withoutCxlPort(cxlIdeKm, portIndex);
    for (const direction of ['RX', 'TX'] as const) {
      if ((direction === 'RX' ? port.rx : port.tx).active) {
        events.push({ kind: 'CXL_IDE_STATE', portIndex, direction, state: 'INSECURE', cause });
      }
    }
  }
  const moved = toError(
    { ...s, ideKm, cxlIdeKm },
    (t) =>
      (t.state !== 'CONFIG_UNLOCKED' && sameSession(t.lock.session, session)) ||
      boundStreams(t).some((id) => dropped.includes(id)),
    cause,
    behaviour,
  );
  return { state: moved.state, effects, events: [...events, ...moved.events] };
}
