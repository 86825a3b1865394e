/**
 * QUERY -> QUERY_RESP (CXL 3.x 11.4 discovery): the port's identity, the CXL_IDE_KM Caps and
 * the CXL IDE Capability Structure, whose status register shows the keys' state now.
 */
import { CXL_IDE_KM_OBJECT_ID_QUERY_RESP } from '../../../wire/cxl-idekm/constants.ts';
import type { CxlIdeKmQuery, CxlIdeKmQueryResp } from '../../../wire/cxl-idekm/messages.ts';
import type { DsmState, Step } from '../state.ts';
import { type CxlIdeKmContext, cxlInvalid, cxlReply, decodeCxlRequest } from './common.ts';
import { cxlCaps, cxlIdeRegisters } from './keys.ts';

export function handleCxlQuery(s: DsmState, raw: Uint8Array, c: CxlIdeKmContext): Step {
  // validate
  const d = decodeCxlRequest<CxlIdeKmQuery>(s, raw, c, 'QUERY');
  if ('refused' in d) return d.refused;
  const q = d.ok;
  // check state: the port must exist
  if (q.portIndex > c.cap.maxPortIndex) {
    return cxlInvalid(s, c, 'QUERY', `port ${q.portIndex} > ${c.cap.maxPortIndex}`);
  }
  // process + respond
  const rid = c.env.hw.dsmRequesterId;
  const resp: CxlIdeKmQueryResp = {
    objectId: CXL_IDE_KM_OBJECT_ID_QUERY_RESP,
    portIndex: q.portIndex,
    devFuncNum: rid & 0xff,
    busNum: rid >>> 8,
    segment: c.env.segment,
    maxPortIndex: c.cap.maxPortIndex,
    caps: cxlCaps(c.cap),
    ideRegisters: cxlIdeRegisters(c.cap, s.cxlIdeKm.ports[q.portIndex]),
  };
  return cxlReply(s, c, resp, { object: 'QUERY', portIndex: q.portIndex, result: 'QUERY_RESP' });
}
