/**
 * K_SET_GO / K_SET_STOP -> K_GOSTOP_ACK (PCIe 6.x 6.33.3). GO starts a programmed key set
 * for one sub-stream and direction; once all six (PR, NPR, CPL x RX, TX) run, the stream is
 * Secure. STOP invalidates the key set (its key is erased) and takes the stream out of
 * Secure, which is an ERROR trigger for the TDIs bound to it (PCIe 11.4.5).
 *
 * K_GOSTOP_ACK has no status field: a GO for an unprogrammed key set, or from a session
 * that does not own the stream, is acknowledged without effect (and traced).
 */
import {
  PCI_IDE_KM_OBJECT_ID_K_SET_GO,
  PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
} from '../../../wire/idekm/constants.ts';
import type { IdeKmKGoStopAck, IdeKmKSetGo, IdeKmKSetStop } from '../../../wire/idekm/messages.ts';
import type { DsmEvent } from '../events.ts';
import type { DsmState, HwEffect, Step } from '../state.ts';
import { sameSession } from '../tdi.ts';
import { decodeRequest, type IdeKmContext, ideKmInvalid, ideKmReply } from './common.ts';
import {
  allStarted,
  keySetSlot,
  type SlotName,
  type StreamKeys,
  type SubStreamKeys,
  slotName,
  withoutStream,
  withStream,
} from './keys.ts';

function ack(m: IdeKmKSetGo | IdeKmKSetStop): IdeKmKGoStopAck {
  return {
    objectId: PCI_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
    streamId: m.streamId,
    keySubStream: m.keySubStream,
    portIndex: m.portIndex,
  };
}

export function handleKSet(s: DsmState, raw: Uint8Array, c: IdeKmContext): Step {
  // validate
  const object = raw[0] === PCI_IDE_KM_OBJECT_ID_K_SET_GO ? 'K_SET_GO' : 'K_SET_STOP';
  const d = decodeRequest<IdeKmKSetGo | IdeKmKSetStop>(s, raw, c, object);
  if ('refused' in d) return d.refused;
  const m = d.ok;
  if (m.portIndex > c.env.behaviour.maxPortIndex) {
    return ideKmInvalid(s, c, object, `port ${m.portIndex}`);
  }
  const name = slotName(m.keySubStream.subStream, m.keySubStream.direction);
  if (name === undefined || m.keySubStream.reserved !== undefined) {
    return ideKmInvalid(s, c, object, 'reserved sub-stream value');
  }
  const slot = `${name}.K${m.keySubStream.keySet}`;
  // check state
  const stream = s.ideKm.streams[m.streamId];
  const ignored = (why: string): Step =>
    ideKmReply(s, c, ack(m), {
      object,
      streamId: m.streamId,
      slot,
      result: `K_GOSTOP_ACK (ignored: ${why})`,
    });
  if (stream === undefined) return ignored('no keys programmed');
  if (stream.owner !== undefined && !sameSession(stream.owner, c.session)) {
    return ignored('stream keyed by another session');
  }
  const sub = stream.slots[name] ?? {};
  return m.objectId === PCI_IDE_KM_OBJECT_ID_K_SET_GO
    ? go(s, c, m, stream, name, sub, slot, ignored)
    : stop(s, c, m, stream, name, sub, slot);
}

function go(
  s: DsmState,
  c: IdeKmContext,
  m: IdeKmKSetGo,
  stream: StreamKeys,
  name: SlotName,
  sub: SubStreamKeys,
  slot: string,
  ignored: (why: string) => Step,
): Step {
  if (keySetSlot(sub, m.keySubStream.keySet) === undefined)
    return ignored('key set not programmed');
  // process
  const started: StreamKeys = {
    ...stream,
    slots: {
      ...stream.slots,
      [name]: { ...sub, active: { keySet: m.keySubStream.keySet, startedBy: c.session } },
    },
  };
  const becomesSecure = !stream.secure && allStarted(started);
  const next: StreamKeys = { ...started, secure: stream.secure || becomesSecure };
  const effects: HwEffect[] = [];
  const events: DsmEvent[] = [];
  if (becomesSecure) {
    effects.push({ kind: 'setStreamState', streamId: m.streamId, state: 'Secure' });
    events.push({
      kind: 'IDE_STREAM_STATE',
      streamId: m.streamId,
      state: 'Secure',
      cause: 'K_SET_GO',
    });
  }
  // respond + update + emit
  const state = { ...s, ideKm: withStream(s.ideKm, m.streamId, next) };
  return ideKmReply(
    state,
    c,
    ack(m),
    { object: 'K_SET_GO', streamId: m.streamId, slot, result: 'K_GOSTOP_ACK' },
    effects,
    events,
  );
}

function stop(
  s: DsmState,
  c: IdeKmContext,
  m: IdeKmKSetStop,
  stream: StreamKeys,
  name: SlotName,
  sub: SubStreamKeys,
  slot: string,
): Step {
  // process: the stopped key set is invalid from now on, so its key is erased
  const keySet = m.keySubStream.keySet;
  const { k0, k1, active } = sub;
  const remaining: SubStreamKeys = {};
  if (keySet !== 0 && k0) remaining.k0 = k0;
  if (keySet !== 1 && k1) remaining.k1 = k1;
  if (active && active.keySet !== keySet) remaining.active = active;
  const slots = { ...stream.slots, [name]: remaining };
  const secure = stream.secure && allStarted({ ...stream, slots });
  const effects: HwEffect[] = [];
  const events: DsmEvent[] = [];
  if (stream.secure && !secure) {
    effects.push({ kind: 'setStreamState', streamId: m.streamId, state: 'Insecure' });
    events.push({
      kind: 'IDE_STREAM_STATE',
      streamId: m.streamId,
      state: 'Insecure',
      cause: 'K_SET_STOP',
    });
  }
  const empty = Object.values(slots).every((k) => !k?.k0 && !k?.k1);
  const ideKm = empty
    ? withoutStream(s.ideKm, m.streamId)
    : withStream(s.ideKm, m.streamId, { ...stream, slots, secure });
  // respond + update + emit
  return ideKmReply(
    { ...s, ideKm },
    c,
    ack(m),
    { object: 'K_SET_STOP', streamId: m.streamId, slot, result: 'K_GOSTOP_ACK' },
    effects,
    events,
  );
}
