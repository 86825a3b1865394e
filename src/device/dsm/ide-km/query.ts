/**
 * QUERY -> QUERY_RESP (PCIe 6.x 6.33.3): the port's identity and its IDE Extended
 * Capability register block, read from the hardware at request time.
 */

import { PCI_IDE_KM_OBJECT_ID_QUERY_RESP } from '../../../wire/idekm/constants.ts';
import type { IdeKmQuery, IdeKmQueryResp } from '../../../wire/idekm/messages.ts';
import { defaultIdeRegisters } from '../hardware.ts';
import type { DsmState, Step } from '../state.ts';
import { decodeRequest, type IdeKmContext, ideKmInvalid, ideKmReply } from './common.ts';

export function handleQuery(s: DsmState, raw: Uint8Array, c: IdeKmContext): Step {
  // validate
  const d = decodeRequest<IdeKmQuery>(s, raw, c, 'QUERY');
  if ('refused' in d) return d.refused;
  const q = d.ok;
  // check state: the port must exist
  const { behaviour, hw } = c.env;
  if (q.portIndex > behaviour.maxPortIndex) {
    return ideKmInvalid(s, c, 'QUERY', `port ${q.portIndex} > ${behaviour.maxPortIndex}`);
  }
  const regs = hw.ideRegisters ? hw.ideRegisters[q.portIndex] : defaultIdeRegisters();
  if (regs === undefined) return ideKmInvalid(s, c, 'QUERY', `no port ${q.portIndex}`);
  // process + respond
  const rid = hw.dsmRequesterId;
  const resp: IdeKmQueryResp = {
    objectId: PCI_IDE_KM_OBJECT_ID_QUERY_RESP,
    portIndex: q.portIndex,
    devFuncNum: rid & 0xff,
    busNum: rid >>> 8,
    segment: c.env.segment,
    maxPortIndex: behaviour.maxPortIndex,
    ideRegisters: regs,
  };
  return ideKmReply(s, c, resp, { object: 'QUERY', result: 'QUERY_RESP' });
}
