/**
 * KEY_PROG -> KP_ACK (CXL 3.x 11.4 key programming): stores the key (and the Pending
 * Initial IV, unless the default IV is asked for) as the pending key of one port direction.
 * Status as the PCIe IDE_KM responder: IncorrectLength, UnsupportedPortIndex,
 * UnsupportedValue (a sub-stream other than CXL.cachemem or reserved bits set),
 * UnspecifiedFailure (a port keyed by another SPDM session).
 */
import {
  CXL_IDE_KM_OBJECT_ID_KP_ACK,
  CXL_KP_ACK_STATUS,
} from '../../../wire/cxl-idekm/constants.ts';
import {
  CXL_IDE_KM_KEY_PROG_SIZE,
  CXL_SUB_STREAM_CACHEMEM,
  type CxlIdeKmKeyProg,
  type CxlIdeKmKpAck,
  decodeCxlKeySubStream,
} from '../../../wire/cxl-idekm/messages.ts';
import type { DsmState, Step } from '../state.ts';
import { sameSession } from '../tdi.ts';
import { type CxlIdeKmContext, cxlInvalid, cxlReply, decodeCxlRequest } from './common.ts';
import { directionKeys, emptyCxlPort, withDirection, withPort } from './keys.ts';

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(CXL_KP_ACK_STATUS).map(([k, v]) => [v, k]),
);

function kpAck(
  s: DsmState,
  c: CxlIdeKmContext,
  f: Pick<CxlIdeKmKpAck, 'streamId' | 'keySubStream' | 'portIndex'>,
  status: number,
): Step {
  const ack: CxlIdeKmKpAck = {
    objectId: CXL_IDE_KM_OBJECT_ID_KP_ACK,
    streamId: f.streamId,
    keySubStream: f.keySubStream,
    portIndex: f.portIndex,
    status,
  };
  return cxlReply(s, c, ack, {
    object: 'KEY_PROG',
    portIndex: f.portIndex,
    direction: f.keySubStream.direction,
    result: `KP_ACK ${STATUS_NAMES[status]}`,
  });
}

export function handleCxlKeyProg(s: DsmState, raw: Uint8Array, c: CxlIdeKmContext): Step {
  // validate: a wrong length still gets a KP_ACK when the 7-byte header is there
  if (raw.length !== CXL_IDE_KM_KEY_PROG_SIZE) {
    if (raw.length < 7 || c.env.behaviour.keyProgBadLength === 'spdm-error') {
      return cxlInvalid(s, c, 'KEY_PROG', `length ${raw.length}`);
    }
    // Header layout (ObjectID, reserved[2], StreamID, reserved, KeySubStream, PortIndex).
    const f = { streamId: raw[3], keySubStream: decodeCxlKeySubStream(raw[5]), portIndex: raw[6] };
    return kpAck(s, c, f, CXL_KP_ACK_STATUS.IncorrectLength);
  }
  const d = decodeCxlRequest<CxlIdeKmKeyProg>(s, raw, c, 'KEY_PROG');
  if ('refused' in d) return d.refused;
  const m = d.ok;
  if (m.portIndex > c.cap.maxPortIndex) {
    return kpAck(s, c, m, CXL_KP_ACK_STATUS.UnsupportedPortIndex);
  }
  if (m.keySubStream.subStream !== CXL_SUB_STREAM_CACHEMEM || m.keySubStream.reserved) {
    return kpAck(s, c, m, CXL_KP_ACK_STATUS.UnsupportedValue);
  }
  // check state: one session keys a port
  const port = s.cxlIdeKm.ports[m.portIndex] ?? emptyCxlPort();
  if (port.owner !== undefined && !sameSession(port.owner, c.session)) {
    return kpAck(s, c, m, CXL_KP_ACK_STATUS.UnspecifiedFailure);
  }
  // process: the new key is pending until K_SET_GO
  const dir = m.keySubStream.direction;
  const pending = {
    key: [...m.key],
    ...(m.keySubStream.bit3 ? {} : { iv: [...m.iv] }),
    programmedBy: c.session,
  };
  const next = withDirection(port, dir, { ...directionKeys(port, dir), pending });
  const state = {
    ...s,
    cxlIdeKm: withPort(s.cxlIdeKm, m.portIndex, { ...next, owner: port.owner ?? c.session }),
  };
  // respond + update
  return kpAck(state, c, m, CXL_KP_ACK_STATUS.Success);
}
