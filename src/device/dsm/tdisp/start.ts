/**
 * START_INTERFACE_REQUEST -> START_INTERFACE_RESPONSE (PCIe 6.x 11.3.14 / 11.3.15): only
 * in CONFIG_LOCKED, on the session that locked the TDI (INVALID_REQUEST otherwise), with the
 * nonce LOCK returned (INVALID_NONCE otherwise, compared in constant time). The nonce is
 * consumed: it does not exist in RUN.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE,
  PCI_TDISP_ERROR_CODE_INVALID_NONCE,
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_START_INTERFACE_RSP,
} from '../../../wire/tdisp/constants.ts';
import type { StartInterfaceRequest } from '../../../wire/tdisp/messages.ts';
import { sameSession } from '../tdi.ts';
import { fail, responseHeader, type TdispHandler } from './common.ts';
import { driftCheck } from './report.ts';

export const handleStart: TdispHandler<StartInterfaceRequest> = (req, c) => {
  // check state
  if (c.tdi.state !== 'CONFIG_LOCKED') return fail(PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE);
  if (!sameSession(c.tdi.lock.session, c.session))
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  if (!timingSafeEqual(req.startInterfaceNonce, c.tdi.nonce)) {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_NONCE);
  }
  const drifted = driftCheck(c);
  if (drifted) return drifted;
  // process + respond
  return {
    kind: 'response',
    response: { ...responseHeader(req, c.env), code: PCI_TDISP_START_INTERFACE_RSP },
    next: { state: 'RUN', fn: c.fn, lock: c.tdi.lock, p2pStreams: [], mmioAttributes: [] },
  };
};
