/**
 * GET_TDISP_CAPABILITIES -> TDISP_CAPABILITIES (PCIe 6.x 11.3.6 / 11.3.7): DSM_CAPS 0
 * (TDISP 1.0), the request codes this behaviour answers, the LOCK flags it honours, the
 * device address width and how many requests may be outstanding.
 */
import { PCI_TDISP_CAPABILITIES } from '../../../wire/tdisp/constants.ts';
import { type GetTdispCapabilities, reqMsgsSupportedBitmap } from '../../../wire/tdisp/messages.ts';
import { supportedRequests } from '../behaviour.ts';
import { responseHeader, type TdispHandler } from './common.ts';

export const handleGetCapabilities: TdispHandler<GetTdispCapabilities> = (req, c) => {
  const b = c.env.behaviour;
  return {
    kind: 'response',
    response: {
      ...responseHeader(req, c.env),
      code: PCI_TDISP_CAPABILITIES,
      dsmCaps: 0,
      reqMsgsSupported: reqMsgsSupportedBitmap(supportedRequests(b)),
      lockInterfaceFlagsSupported: b.lockFlagsSupported,
      devAddrWidth: b.devAddrWidth,
      numReqThis: b.numReqThis,
      numReqAll: b.numReqAll,
    },
  };
};
