/**
 * KEY_PROG -> KP_ACK (PCIe 6.x 6.33.3): stores one key and IFV into a (stream, sub-stream,
 * direction, key set) slot. Status codes: IncorrectLength, UnsupportedPortIndex,
 * UnsupportedValue (reserved sub-stream or reserved bits), UnspecifiedFailure (a stream
 * owned by another SPDM session, PCIe 11.4.5, or overwriting the key set in use).
 */
import { KP_ACK_STATUS, PCI_IDE_KM_OBJECT_ID_KP_ACK } from '../../../wire/idekm/constants.ts';
import {
  decodeKeySubStream,
  IDE_KM_KEY_PROG_SIZE,
  type IdeKmKeyProg,
  type IdeKmKpAck,
} from '../../../wire/idekm/messages.ts';
import type { DsmState, Step } from '../state.ts';
import { sameSession } from '../tdi.ts';
import { decodeRequest, type IdeKmContext, ideKmInvalid, ideKmReply } from './common.ts';
import { type SubStreamKeys, slotName, withStream } from './keys.ts';

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(KP_ACK_STATUS).map(([k, v]) => [v, k]),
);

function kpAck(
  s: DsmState,
  c: IdeKmContext,
  f: Pick<IdeKmKpAck, 'streamId' | 'keySubStream' | 'portIndex'>,
  status: number,
  slot?: string,
): Step {
  const ack: IdeKmKpAck = {
    objectId: PCI_IDE_KM_OBJECT_ID_KP_ACK,
    streamId: f.streamId,
    keySubStream: f.keySubStream,
    portIndex: f.portIndex,
    status,
  };
  return ideKmReply(s, c, ack, {
    object: 'KEY_PROG',
    streamId: f.streamId,
    slot,
    result: `KP_ACK ${STATUS_NAMES[status]}`,
  });
}

export function handleKeyProg(s: DsmState, raw: Uint8Array, c: IdeKmContext): Step {
  const { behaviour } = c.env;
  // validate: a wrong length still names the slot when the 7-byte header is there
  if (raw.length !== IDE_KM_KEY_PROG_SIZE) {
    if (raw.length < 7 || behaviour.keyProgBadLength === 'spdm-error') {
      return ideKmInvalid(s, c, 'KEY_PROG', `length ${raw.length}`);
    }
    // Header layout (ObjectID, reserved[2], StreamID, reserved, KeySubStream, PortIndex).
    const f = { streamId: raw[3], keySubStream: decodeKeySubStream(raw[5]), portIndex: raw[6] };
    return kpAck(s, c, f, KP_ACK_STATUS.IncorrectLength);
  }
  const d = decodeRequest<IdeKmKeyProg>(s, raw, c, 'KEY_PROG');
  if ('refused' in d) return d.refused;
  const m = d.ok;
  if (m.portIndex > behaviour.maxPortIndex) {
    return kpAck(s, c, m, KP_ACK_STATUS.UnsupportedPortIndex);
  }
  const name = slotName(m.keySubStream.subStream, m.keySubStream.direction);
  if (name === undefined || m.keySubStream.reserved !== undefined) {
    return kpAck(s, c, m, KP_ACK_STATUS.UnsupportedValue);
  }
  // check state
  const stream = s.ideKm.streams[m.streamId] ?? {
    portIndex: m.portIndex,
    slots: {},
    secure: false,
  };
  if (stream.owner !== undefined && !sameSession(stream.owner, c.session)) {
    return kpAck(s, c, m, KP_ACK_STATUS.UnspecifiedFailure, name);
  }
  const slots: SubStreamKeys = stream.slots[name] ?? {};
  if (slots.active?.keySet === m.keySubStream.keySet) {
    // The key set in use is not overwritten; a refresh programs the other set, then GO.
    return kpAck(s, c, m, KP_ACK_STATUS.UnspecifiedFailure, name);
  }
  // process
  const slot = { key: [...m.key], ifv: [...m.ifv], programmedBy: c.session };
  const updated: SubStreamKeys =
    m.keySubStream.keySet === 0 ? { ...slots, k0: slot } : { ...slots, k1: slot };
  const next = withStream(s.ideKm, m.streamId, {
    ...stream,
    owner: stream.owner ?? c.session,
    slots: { ...stream.slots, [name]: updated },
  });
  // respond + update
  return kpAck(
    { ...s, ideKm: next },
    c,
    m,
    KP_ACK_STATUS.Success,
    `${name}.K${m.keySubStream.keySet}`,
  );
}
