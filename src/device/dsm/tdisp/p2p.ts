/**
 * BIND_P2P_STREAM_REQUEST / UNBIND_P2P_STREAM_REQUEST (PCIe 6.x 11.3.18 - 11.3.21): only in
 * RUN, on the session that locked the TDI, and only when LOCK set BIND_P2P. A bound stream
 * must not be the default stream and must have every sub-stream key programmed and started
 * on the locking session; unbinding needs a bound stream. Failures are INVALID_REQUEST.
 */
import {
  PCI_TDISP_BIND_P2P_STREAM_RSP,
  PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE,
  PCI_TDISP_ERROR_CODE_INVALID_REQUEST,
  PCI_TDISP_LOCK_INTERFACE_FLAGS_BIND_P2P,
  PCI_TDISP_UNBIND_P2P_STREAM_RSP,
} from '../../../wire/tdisp/constants.ts';
import type { BindP2PStreamRequest, UnbindP2PStreamRequest } from '../../../wire/tdisp/messages.ts';
import { streamKeyedOn } from '../ide-km/keys.ts';
import { sameSession } from '../tdi.ts';
import { fail, responseHeader, type TdispHandler } from './common.ts';

export const handleBindP2P: TdispHandler<BindP2PStreamRequest> = (req, c) => {
  // validate: TDISP 1.0 has no STREAM_CONFIG byte
  if (req.streamConfig !== undefined) return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  // check state
  const tdi = c.tdi;
  if (tdi.state !== 'RUN') return fail(PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE);
  if (!sameSession(tdi.lock.session, c.session)) return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  if ((tdi.lock.flags & PCI_TDISP_LOCK_INTERFACE_FLAGS_BIND_P2P) === 0) {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  }
  const id = req.p2pStreamId;
  if (id === tdi.lock.defaultStreamId || tdi.p2pStreams.includes(id)) {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  }
  if (!streamKeyedOn(c.ideKm, id, tdi.lock.session))
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  // process + respond
  return {
    kind: 'response',
    response: { ...responseHeader(req, c.env), code: PCI_TDISP_BIND_P2P_STREAM_RSP },
    next: { ...tdi, p2pStreams: [...tdi.p2pStreams, id] },
  };
};

export const handleUnbindP2P: TdispHandler<UnbindP2PStreamRequest> = (req, c) => {
  // check state
  const tdi = c.tdi;
  if (tdi.state !== 'RUN') return fail(PCI_TDISP_ERROR_CODE_INVALID_INTERFACE_STATE);
  if (!sameSession(tdi.lock.session, c.session)) return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  if ((tdi.lock.flags & PCI_TDISP_LOCK_INTERFACE_FLAGS_BIND_P2P) === 0) {
    return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  }
  if (!tdi.p2pStreams.includes(req.p2pStreamId)) return fail(PCI_TDISP_ERROR_CODE_INVALID_REQUEST);
  // process + respond
  return {
    kind: 'response',
    response: { ...responseHeader(req, c.env), code: PCI_TDISP_UNBIND_P2P_STREAM_RSP },
    next: { ...tdi, p2pStreams: tdi.p2pStreams.filter((s) => s !== req.p2pStreamId) },
  };
};
