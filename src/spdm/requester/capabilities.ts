/**
 * GET_CAPABILITIES / CAPABILITIES from the requester's side (DSP0274 1.3 section 10.4;
 * libspdm libspdm_req_get_capabilities.c): sends our flags, CTExponent and (1.2+) buffer
 * sizes, and checks the responder's flags and 1.2+ sizes against the rules DSP0274's
 * tables give for a responder (capability-rules.ts).
 */

import type { Capabilities, GetCapabilities } from '../../wire/spdm/capabilities.ts';
import { encodeSpdm } from '../../wire/spdm/codec.ts';
import {
  SPDM_CAPABILITIES,
  SPDM_GET_CAPABILITIES,
  SPDM_VERSION_11,
  SPDM_VERSION_12,
} from '../../wire/spdm/constants.ts';
import { capabilityFlagsProblem, transferSizeProblem } from '../capability-rules.ts';
import { appendA, resetForRequest } from '../transcript.ts';
import type { RequesterContext } from './context.ts';
import { SpdmUsageError, SpdmVerifyError } from './errors.ts';
import type { ExchangeProgress, Outgoing, Received } from './exchange.ts';
import type { PeerCapabilities } from './state.ts';

/**
 * Builds GET_CAPABILITIES.
 * @throws SpdmUsageError before VERSION.
 */
export function startGetCapabilities(ctx: RequesterContext): Outgoing {
  // -- check state
  const c = ctx.conn;
  if (c.state !== 'AFTER_VERSION') {
    throw new SpdmUsageError(`GET_CAPABILITIES needs a fresh VERSION (connection is ${c.state})`);
  }
  const v = c.version;
  const cfg = ctx.config;

  // -- request
  const req: GetCapabilities = { version: v, code: SPDM_GET_CAPABILITIES, param1: 0 };
  if (v >= SPDM_VERSION_11) {
    req.ctExponent = cfg.ctExponent;
    req.flags = cfg.capabilities >>> 0;
  }
  if (v >= SPDM_VERSION_12) {
    req.dataTransferSize = cfg.dataTransferSize;
    req.maxSpdmMsgSize = cfg.maxSpdmMsgSize;
  }
  resetForRequest(ctx.transcript, SPDM_GET_CAPABILITIES, false);
  return {
    request: encodeSpdm(req),
    expect: { code: SPDM_CAPABILITIES, version: v, codec: { version: v, request: req } },
  };
}

/**
 * Checks CAPABILITIES against DSP0274's rules for a responder.
 * @throws SpdmVerifyError 'capabilities'.
 */
export function absorbCapabilities(
  ctx: RequesterContext,
  ex: ExchangeProgress,
  { value, bytes }: Received<Capabilities>,
): PeerCapabilities {
  const c = ctx.conn;
  if (c.state !== 'AFTER_VERSION') throw new SpdmUsageError('CAPABILITIES without VERSION');
  const v = c.version;
  const req = ex.expect.codec?.request as GetCapabilities;

  // -- verify
  const peer: PeerCapabilities = {
    flags: value.flags >>> 0,
    ctExponent: value.ctExponent,
    dataTransferSize: value.dataTransferSize,
    maxSpdmMsgSize: value.maxSpdmMsgSize,
  };
  const problem =
    capabilityFlagsProblem(peer.flags, 'responder', v) ??
    transferSizeProblem(peer.flags, peer.dataTransferSize ?? 0, peer.maxSpdmMsgSize ?? 0, v);
  ctx.verified('capabilities', problem === undefined);
  if (problem) throw new SpdmVerifyError('capabilities', problem);

  // -- update
  appendA(ctx.transcript, ex.request);
  appendA(ctx.transcript, bytes);
  ctx.setState({ state: 'AFTER_CAPABILITIES', version: v, peer, localFlags: req.flags ?? 0 });
  return peer;
}
