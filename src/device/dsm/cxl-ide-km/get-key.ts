/**
 * GETKEY -> GETKEY_ACK (CXL 3.x 11.4): a device that generates keys or IVs (QUERY_RESP Caps
 * KEY_GEN_CAP / IV_GEN_CAP) returns a fresh one for the port direction, which the host then
 * programs with KEY_PROG. Without the capability the Key (or IV) field is zero, as the
 * requester ignores it. A generated IV has the initial-IV form the requester uses itself
 * (first dword 0x80000000) with a random 64-bit invocation field.
 */
import {
  CXL_IDE_KM_IV_DWORDS,
  CXL_IDE_KM_KEY_DWORDS,
  CXL_IDE_KM_OBJECT_ID_GET_KEY_ACK,
} from '../../../wire/cxl-idekm/constants.ts';
import {
  CXL_SUB_STREAM_CACHEMEM,
  type CxlIdeKmGetKey,
  type CxlIdeKmGetKeyAck,
} from '../../../wire/cxl-idekm/messages.ts';
import type { DsmState, Step } from '../state.ts';
import { type CxlIdeKmContext, cxlInvalid, cxlReply, decodeCxlRequest } from './common.ts';
import { emptyCxlPort, withPort } from './keys.ts';

function dwords(b: Uint8Array): number[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 4 }, (_, i) => v.getUint32(4 * i, true));
}

export function handleCxlGetKey(s: DsmState, raw: Uint8Array, c: CxlIdeKmContext): Step {
  // validate
  const d = decodeCxlRequest<CxlIdeKmGetKey>(s, raw, c, 'GETKEY');
  if ('refused' in d) return d.refused;
  const m = d.ok;
  if (!c.cap.keyGeneration && !c.cap.ivGeneration) {
    return cxlInvalid(s, c, 'GETKEY', 'neither KEY_GEN_CAP nor IV_GEN_CAP');
  }
  if (m.portIndex > c.cap.maxPortIndex) return cxlInvalid(s, c, 'GETKEY', `port ${m.portIndex}`);
  if (m.keySubStream.subStream !== CXL_SUB_STREAM_CACHEMEM || m.keySubStream.reserved) {
    return cxlInvalid(s, c, 'GETKEY', 'not the CXL.cachemem sub-stream');
  }
  // process: generate what the device is capable of generating
  const key = c.cap.keyGeneration
    ? dwords(c.env.random(4 * CXL_IDE_KM_KEY_DWORDS))
    : new Array<number>(CXL_IDE_KM_KEY_DWORDS).fill(0);
  const iv = c.cap.ivGeneration
    ? [0x80000000, ...dwords(c.env.random(8))]
    : new Array<number>(CXL_IDE_KM_IV_DWORDS).fill(0);
  const port = s.cxlIdeKm.ports[m.portIndex] ?? emptyCxlPort();
  const dir = m.keySubStream.direction;
  const state = {
    ...s,
    cxlIdeKm: withPort(s.cxlIdeKm, m.portIndex, {
      ...port,
      generated: { ...port.generated, [dir]: { key, iv } },
    }),
  };
  // respond + update
  const ackMsg: CxlIdeKmGetKeyAck = {
    objectId: CXL_IDE_KM_OBJECT_ID_GET_KEY_ACK,
    streamId: m.streamId,
    keySubStream: m.keySubStream,
    portIndex: m.portIndex,
    key,
    iv,
  };
  return cxlReply(state, c, ackMsg, {
    object: 'GETKEY',
    portIndex: m.portIndex,
    direction: dir,
    result: 'GETKEY_ACK',
  });
}
