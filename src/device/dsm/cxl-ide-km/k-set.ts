/**
 * K_SET_GO / K_SET_STOP -> K_GOSTOP_ACK (CXL 3.x 11.4 key activation). GO makes the pending
 * key of one port direction the active one, in Skid or Containment mode (bit 3), and that
 * direction's CXL IDE state becomes Active; STOP (only when K_SET_STOP capable) erases the
 * direction's keys and its state is Insecure again.
 *
 * K_GOSTOP_ACK has no status field: a GO without a pending key, in a mode the device lacks,
 * or from a session that does not own the port is acknowledged without effect (and traced).
 */
import {
  CXL_IDE_KM_OBJECT_ID_K_SET_GO,
  CXL_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
} from '../../../wire/cxl-idekm/constants.ts';
import {
  CXL_SUB_STREAM_CACHEMEM,
  type CxlIdeKmKGoStopAck,
  type CxlIdeKmKSetGo,
  type CxlIdeKmKSetStop,
} from '../../../wire/cxl-idekm/messages.ts';
import type { DsmState, Step } from '../state.ts';
import { sameSession } from '../tdi.ts';
import { type CxlIdeKmContext, cxlInvalid, cxlReply, decodeCxlRequest } from './common.ts';
import {
  type CxlDirectionKeys,
  type CxlIdeMode,
  type CxlPortKeys,
  directionKeys,
  withDirection,
  withoutPort,
  withPort,
} from './keys.ts';

function ack(m: CxlIdeKmKSetGo | CxlIdeKmKSetStop): CxlIdeKmKGoStopAck {
  return {
    objectId: CXL_IDE_KM_OBJECT_ID_K_SET_GOSTOP_ACK,
    streamId: m.streamId,
    keySubStream: m.keySubStream,
    portIndex: m.portIndex,
  };
}

export function handleCxlKSet(s: DsmState, raw: Uint8Array, c: CxlIdeKmContext): Step {
  // validate
  const object = raw[0] === CXL_IDE_KM_OBJECT_ID_K_SET_GO ? 'K_SET_GO' : 'K_SET_STOP';
  const d = decodeCxlRequest<CxlIdeKmKSetGo | CxlIdeKmKSetStop>(s, raw, c, object);
  if ('refused' in d) return d.refused;
  const m = d.ok;
  if (m.portIndex > c.cap.maxPortIndex) return cxlInvalid(s, c, object, `port ${m.portIndex}`);
  if (m.keySubStream.subStream !== CXL_SUB_STREAM_CACHEMEM || m.keySubStream.reserved) {
    return cxlInvalid(s, c, object, 'not the CXL.cachemem sub-stream');
  }
  if (object === 'K_SET_STOP' && !c.cap.kSetStop) {
    return cxlInvalid(s, c, object, 'not K_SET_STOP capable (QUERY_RESP Caps)');
  }
  const dir = m.keySubStream.direction;
  const base = { object, portIndex: m.portIndex, direction: dir };
  // check state
  const port = s.cxlIdeKm.ports[m.portIndex];
  const ignored = (why: string): Step =>
    cxlReply(s, c, ack(m), { ...base, result: `K_GOSTOP_ACK (ignored: ${why})` });
  if (port === undefined) return ignored('no keys programmed');
  if (port.owner !== undefined && !sameSession(port.owner, c.session)) {
    return ignored('port keyed by another session');
  }
  const keys = directionKeys(port, dir);
  if (m.objectId === CXL_IDE_KM_OBJECT_ID_K_SET_GO) {
    const mode: CxlIdeMode = m.keySubStream.bit3 ? 'CONTAINMENT' : 'SKID';
    if (mode === 'CONTAINMENT' && !c.cap.containment) return ignored('no Containment mode');
    if (keys.pending === undefined) return ignored('no pending key');
    // process: the pending key becomes the active one
    const next: CxlDirectionKeys = { active: { ...keys.pending, mode, startedBy: c.session } };
    const state = {
      ...s,
      cxlIdeKm: withPort(s.cxlIdeKm, m.portIndex, withDirection(port, dir, next)),
    };
    return cxlReply(state, c, ack(m), { ...base, result: 'K_GOSTOP_ACK' }, [
      {
        kind: 'CXL_IDE_STATE',
        portIndex: m.portIndex,
        direction: dir,
        state: mode,
        cause: 'K_SET_GO',
      },
    ]);
  }
  // process: STOP erases the direction's keys
  const stopped: CxlPortKeys = withDirection(port, dir, {});
  const empty =
    !stopped.rx.pending && !stopped.rx.active && !stopped.tx.pending && !stopped.tx.active;
  const cxlIdeKm = empty
    ? withoutPort(s.cxlIdeKm, m.portIndex)
    : withPort(s.cxlIdeKm, m.portIndex, stopped);
  const events =
    keys.active === undefined
      ? []
      : [
          {
            kind: 'CXL_IDE_STATE' as const,
            portIndex: m.portIndex,
            direction: dir,
            state: 'INSECURE' as const,
            cause: 'K_SET_STOP',
          },
        ];
  return cxlReply({ ...s, cxlIdeKm }, c, ack(m), { ...base, result: 'K_GOSTOP_ACK' }, events);
}
